"""`glow serve` as the operator runs it: a process of its own (on PostgreSQL with its writer
in a child process), on a free port, with the test's secrets and any settings or options."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.e2e.ledger_server import TEST_JWT_SECRET, TEST_MASTER_KEY

GLOW = str(Path(sys.executable).parent / "glow")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@dataclass
class GlowServe:
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    scheme: str = "http"

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def writer_processes(self) -> list[int]:
        """The pids of this process's writer processes (PostgreSQL: multiprocessing's spawned
        children; its resource tracker, which exits after its parent, is not one)."""
        found: list[int] = []
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            for pid in (task / "children").read_text().split():
                command = Path(f"/proc/{pid}/cmdline").read_bytes()
                if b"multiprocessing.spawn" in command:
                    found.append(int(pid))
        return found


def environment(store_url: str, cwd: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GLOW_")}
    env.update(
        GLOW_EVENT_STORE_URL=store_url,
        GLOW_JWT_SECRET=TEST_JWT_SECRET,
        GLOW_MASTER_KEY=TEST_MASTER_KEY,
        GLOW_ANALYTICS_URL="",  # the hot views (in process) are enough read side here
        PYTHONUNBUFFERED="1",
    )
    env.update(settings)
    return env


def start(
    store_url: str,
    cwd: Path,
    *options: str,
    log_name: str = "glow.log",
    settings: dict[str, str] | None = None,
    scheme: str | None = None,
) -> GlowServe:
    port = free_port()
    log = cwd / log_name
    with log.open("wb") as output:
        process = subprocess.Popen(
            [GLOW, "serve", "--port", str(port), "--log-level", "warning", *options],
            env=environment(store_url, cwd, **(settings or {})),
            cwd=cwd,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    return GlowServe(process, port, log, scheme or ("https" if "--certfile" in options else "http"))


def wait_until_up(served: GlowServe, client: httpx.Client, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if client.get(served.base_url + "/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        if served.process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"glow serve did not come up:\n{served.output()}")
        time.sleep(0.05)


@contextmanager
def glow_serve(
    store_url: str,
    cwd: Path,
    *options: str,
    log_name: str = "glow.log",
    settings: dict[str, str] | None = None,
    client: httpx.Client | None = None,
    scheme: str | None = None,
) -> Iterator[GlowServe]:
    """Started and answering /health (through `client` if given); stopped (SIGTERM) after."""
    served = start(store_url, cwd, *options, log_name=log_name, settings=settings, scheme=scheme)
    try:
        if client is None:
            with httpx.Client(timeout=10) as probe:
                wait_until_up(served, probe)
        else:
            wait_until_up(served, client)
        yield served
    finally:
        if served.process.poll() is None:
            served.process.send_signal(signal.SIGTERM)
            try:
                served.process.wait(60)
            except subprocess.TimeoutExpired:
                served.process.kill()
                served.process.wait(10)
