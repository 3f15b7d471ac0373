"""A command's `--every SECONDS`: its step once, or again and again that many seconds apart
until SIGINT or SIGTERM (a cluster's process), the step in progress finishing first."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable


def repeat(every: float | None, step: Callable[[], None]) -> None:
    stop = threading.Event()
    if every is not None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
    while True:
        step()
        if every is None or stop.wait(every):
            return
