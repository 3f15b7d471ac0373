"""The processes of `glow dev cluster` under one supervisor: each in a process group of its
own (a Ctrl-C at the terminal reaches only the supervisor), with its log and PID file in the
cluster's folder. The supervisor waits for the API, prints where everything answers and
`glow lag`, then watches: Ctrl-C or SIGTERM stops them all (the broker last); a process that
stops on its own is reported with the end of its log, and the others are stopped."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType

from cli.dev_broker import start_tansu
from cli.dev_processes import GLOW, Supervised, launch, stop_all
from configuration.settings import SettingsError

READY_SECONDS = 90
LOG_TAIL_LINES = 20


class ProcessStoppedError(RuntimeError):
    """A process of the cluster stopped while the cluster should be running."""


def refuse_taken_port(port: int, option: str) -> None:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError as error:
            raise SettingsError(
                f"port {port} ({option}) is taken: {error.strerror}; choose another with {option}"
            ) from None


class DevCluster:
    def __init__(self, folder: Path, env: Mapping[str, str]) -> None:
        self.folder = folder
        self.env = env
        self.running: list[Supervised] = []

    def run(
        self,
        broker_port: int,
        commands: Sequence[tuple[str, Sequence[str]]],
        api_url: str,
        summary: str,
    ) -> int:
        """Starts everything, watches until Ctrl-C/SIGTERM (0) or a process stops (1)."""
        previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            self._start(broker_port, commands)
            self._wait_for(api_url)
            print(f"{summary}\n{self._lag()}Ctrl-C stops them all.", flush=True)
            while True:
                time.sleep(0.5)
                self._check_running()
        except KeyboardInterrupt:
            return 0
        except ProcessStoppedError as stopped:
            print(f"glow dev cluster: {stopped}", file=sys.stderr, flush=True)
            return 1
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut this
            self._stop()
            signal.signal(signal.SIGTERM, previous)
            signal.signal(signal.SIGINT, signal.default_int_handler)

    def _start(self, broker_port: int, commands: Sequence[tuple[str, Sequence[str]]]) -> None:
        log = self.folder / "tansu.log"
        self.running.append(
            Supervised("tansu", start_tansu(broker_port, log, own_group=True), log).record_pid()
        )
        for name, args in commands:
            log = self.folder / f"{name}.log"
            process = launch([*GLOW, *args], self.env, log, own_group=True)
            self.running.append(Supervised(name, process, log).record_pid())

    def _wait_for(self, api_url: str) -> None:
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            self._check_running()
            try:
                with urllib.request.urlopen(f"{api_url}/health", timeout=2) as answer:  # noqa: S310
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise ProcessStoppedError(
            f"the API did not answer {api_url}/health within {READY_SECONDS} s; "
            f"see {self.folder}/serve.log"
        )

    def _check_running(self) -> None:
        for supervised in self.running:
            status = supervised.process.poll()
            if status is not None:
                raise ProcessStoppedError(
                    f"{supervised.name} stopped (exit status {status}); "
                    f"the end of {supervised.log}:\n{_tail(supervised.log)}\n"
                    "stopping the other processes"
                )

    def _lag(self) -> str:
        done = subprocess.run(
            [*GLOW, "lag"], env=dict(self.env), capture_output=True, timeout=60, check=False
        )
        return (done.stdout if done.returncode == 0 else done.stdout + done.stderr).decode()

    def _stop(self) -> None:
        """Everything but the broker side by side, then the broker the others talk to."""
        order = [*reversed(self.running[1:]), *self.running[:1]]
        stop_all([supervised.process for supervised in order[:-1]])
        stop_all([supervised.process for supervised in order[-1:]])
        for supervised in order:
            supervised.forget_pid()
        if order:
            names = ", ".join(supervised.name for supervised in order)
            print(f"glow dev cluster: stopped {names}", file=sys.stderr, flush=True)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _tail(log: Path) -> str:
    lines = log.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
    return "\n".join(f"  | {line}" for line in lines)
