"""Processes of a development cluster (and of the tests and benchmarks that run one): each
started with its output in a log file and, when asked, its PID in a file beside it; stopped
with a signal, then killed if it does not exit in time."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

# The `glow` of the running interpreter (the venv's, beside its python).
GLOW = (sys.executable, "-m", "cli.main")


@dataclass(frozen=True)
class Supervised:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid_file(self) -> Path:
        return self.log.with_suffix(".pid")

    def record_pid(self) -> Supervised:
        self.pid_file.write_text(f"{self.process.pid}\n")
        return self

    def forget_pid(self) -> None:
        self.pid_file.unlink(missing_ok=True)


def launch(
    argv: Sequence[str], env: Mapping[str, str], log: Path, *, own_group: bool = False
) -> subprocess.Popen[bytes]:
    """`argv` with its output appended to `log`; in a process group of its own if asked, so a
    Ctrl-C at the terminal reaches only the supervisor, which stops the rest in order."""
    with log.open("ab") as out:
        return subprocess.Popen(
            list(argv),
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            process_group=0 if own_group else None,
        )


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    stop_all([process], sig, timeout)


def stop_all(
    processes: Sequence[subprocess.Popen[bytes]], sig: int = signal.SIGTERM, timeout: float = 20
) -> None:
    """`sig` to every process first, then wait for each (they shut down side by side); one
    still running after `timeout` seconds is killed."""
    running = [process for process in processes if process.poll() is None]
    for process in running:
        process.send_signal(sig)
    for process in running:
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def recorded_pids(folder: Path) -> dict[str, int]:
    """The PID files in `folder` whose process still runs: name -> PID."""
    alive = {}
    for pid_file in sorted(folder.glob("*.pid")):
        try:
            pid = int(pid_file.read_text().strip())
            os.kill(pid, 0)
        except (ValueError, ProcessLookupError):
            continue
        except PermissionError:
            pass  # it runs, as another user
        alive[pid_file.stem] = pid
    return alive


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
