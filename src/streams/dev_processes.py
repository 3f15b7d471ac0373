"""Processes of a development cluster (and of the tests and benchmarks that run one): each
started with its output in a log file; stopped with a signal, then killed if it does not exit
in time."""

from __future__ import annotations

import signal
import socket
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path


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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
