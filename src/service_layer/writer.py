"""What every caller of the command writer uses (the API, the reservation sweeper, the demo,
scripts), whichever transport carries the commands: a thread of this process
(writer_thread.py) or a process of its own (writer_client.py, writer_server.py). Both run
the same decide/commit code (command_writer.py) in the same pipelined loop (writer_loop.py).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Protocol

from domain.commands import Command
from service_layer.writer_metrics import WriterFigures


class WriterOverloadedError(Exception):
    """The command queue is full: the caller should back off and retry."""


class WriterStoppedError(Exception):
    """The writer is shutting down and takes no more commands."""

    retry_after_seconds = 1  # the 503's Retry-After


class WriterStandbyError(WriterStoppedError):
    """This writer stands by: another writer leads the store (storage/writer_lock.py), so it
    takes no commands until it takes the lock over."""

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class WriterUnreachableError(WriterStoppedError):
    """The shared writer (`glow writer`) is not connected: it is failing over to its standby
    or restarting, and this API is connecting again (writer_connection.py)."""

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


@dataclass(frozen=True)
class Outcome:
    """A command's result as its caller hears it: `created` as the handler decided it (the
    API maps it to 201 or 200), `replayed` when it is the first answer to a repeated key."""

    body: dict[str, Any]
    created: bool = False
    replayed: bool = False


@dataclass(frozen=True)
class WriterUnready:
    """Why a writer takes no commands now; `for_good` when only restarting its process
    cures it (its writer process died: it is never started again in place)."""

    reason: str
    for_good: bool = False


class Writer(Protocol):
    """Takes commands and answers each once the transaction that recorded it has committed.

    Submitting raises WriterStoppedError once the writer stops (or its process is gone) and
    WriterOverloadedError when too many commands wait; the API answers them 503 and 429."""

    @property
    def commands_committed(self) -> int: ...

    @property
    def groups_committed(self) -> int: ...

    def start(self) -> None: ...

    def stop(self, timeout: float = 10.0) -> None: ...

    def submit(
        self, command: Command, idempotency_key: str | None = None, fingerprint: str = ""
    ) -> Future[Outcome]:
        """From any thread: the outcome arrives in a concurrent future."""

    def submit_async(
        self, command: Command, idempotency_key: str | None = None, fingerprint: str = ""
    ) -> asyncio.Future[Outcome]:
        """From a coroutine: the outcome arrives in the running event loop."""

    def execute(
        self, command: Command, idempotency_key: str | None = None, fingerprint: str = ""
    ) -> Outcome:
        """From a thread that may block (the sweeper, scripts): wait for the outcome."""

    def queue_depth(self) -> int:
        """Commands submitted and not answered yet."""

    def figures(self) -> WriterFigures:
        """Its counts and queue, for metrics (writer_metrics.py)."""

    def not_ready(self) -> WriterUnready | None:
        """Why the writer takes no commands now (stopped, its process gone, standing by for
        the store's writer lock), or None when it takes them: what readiness asks."""
