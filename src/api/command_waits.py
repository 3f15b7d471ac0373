"""Waiting for the writer's answer with a deadline, cheaply.

Every command waits at most `command_timeout_seconds`. An `asyncio.timeout` per request costs a
timer handle, a task-cancellation dance and a reschedule; since every command has the same
timeout, their deadlines arrive in submission order, so one reaper task per event loop walks
a FIFO of deadlines a few times a second and fails the overdue waits with TimeoutError (which
the API answers as 503 "retry with the same Idempotency-Key").
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

REAP_EVERY_SECONDS = 0.1


class Deadlines:
    def __init__(self) -> None:
        self._waits: deque[tuple[float, asyncio.Future[Any]]] = deque()
        self._reaper: asyncio.Task[None] | None = None

    def watch(self, future: asyncio.Future[Any], timeout: float) -> None:
        """Fail `future` with TimeoutError unless it is done within `timeout` seconds; the
        timeout must be the same on every call (deadlines are kept in arrival order)."""
        self._waits.append((time.monotonic() + timeout, future))
        if self._reaper is None or self._reaper.done():
            self._reaper = asyncio.get_running_loop().create_task(self._reap())

    def fail_all(self, error: BaseException) -> int:
        """Answer every wait now with `error` (a drain that ran out of time); returns how
        many were still waiting."""
        failed = 0
        while self._waits:
            _, future = self._waits.popleft()
            if not future.done():
                future.set_exception(error)
                failed += 1
        return failed

    async def _reap(self) -> None:
        while self._waits:
            await asyncio.sleep(REAP_EVERY_SECONDS)
            now = time.monotonic()
            while self._waits and (self._waits[0][0] <= now or self._waits[0][1].done()):
                _, future = self._waits.popleft()
                if not future.done():
                    future.set_exception(
                        TimeoutError("the command was not committed within the time allowed")
                    )


_BY_LOOP: dict[asyncio.AbstractEventLoop, Deadlines] = {}


def deadlines() -> Deadlines:
    """The running event loop's deadlines."""
    loop = asyncio.get_running_loop()
    found = _BY_LOOP.get(loop)
    if found is None:
        for closed in [known for known in _BY_LOOP if known.is_closed()]:
            del _BY_LOOP[closed]
        found = _BY_LOOP[loop] = Deadlines()
    return found
