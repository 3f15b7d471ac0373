"""The command writer in a thread of this process: callers put commands on a queue, and one
thread runs the writer's loop (writer_loop.py) on them. The embedded SQLite store's writer,
and PostgreSQL's when GLOW_WRITER_PROCESS=0 (writer_client.py says why a process of its own
is the default there).

Outcomes for coroutines go through slots, handed to each event loop once per commit group
(one call_soon_threadsafe), not one cross-thread future chain and one wake-up per command.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from concurrent.futures import Future
from typing import Any

from eventsourcing.application import Application

from service_layer.command_writer import AnyCommand, CommandWriter, Submission
from service_layer.writer import (
    Outcome,
    WriterOverloadedError,
    WriterStoppedError,
    WriterUnready,
)
from service_layer.writer_loop import WriterLoop
from service_layer.writer_metrics import INVENTORY, WriterFigures, group_observer
from service_layer.writer_slots import Answerable, Delivery, Slot, settle
from service_layer.writer_tracing import current_parent, traced_answer
from storage.commit_channels import commit_channel
from telemetry import tracing

log = logging.getLogger(__name__)

LoopDelivery = Delivery["asyncio.Future[Outcome]"]
_STOP = object()


class InProcessWriter:
    def __init__(
        self,
        ledger: Application[Any],
        *,
        max_group: int = 256,
        max_attempts: int = 5,
        queue_size: int = 20_000,
        ledger_name: str = INVENTORY,
        **options: Any,
    ) -> None:
        """`options` go to CommandWriter (a handler, a cache size); `ledger_name` labels its
        metrics."""
        self._observe = group_observer(ledger_name)
        self.overloaded = 0  # commands refused because the queue was full
        self._outbox: list[LoopDelivery] = []  # the writer thread's; handed over per group
        self.core = CommandWriter(
            ledger,
            max_group=max_group,
            max_attempts=max_attempts,
            after_group=self._hand_over,
            **options,
        )
        self._queue: queue.Queue[Submission | object] = queue.Queue(queue_size)
        self._thread = threading.Thread(target=self._run, name="command-writer", daemon=True)
        self._stopped = threading.Event()

    @property
    def ledger(self) -> Application[Any]:
        return self.core.ledger

    @property
    def commands_committed(self) -> int:
        return self.core.commands_committed

    @property
    def groups_committed(self) -> int:
        return self.core.groups_committed

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout)

    def submit(
        self, command: AnyCommand, idempotency_key: str | None = None, fingerprint: str = ""
    ) -> Future[Outcome]:
        future: Future[Outcome] = Future()
        answer: Answerable = future
        if tracing.TRACER is not None:
            answer = traced_answer(future, command, current_parent())
        self._put(Submission(command, idempotency_key, fingerprint, answer))
        return future

    def submit_async(
        self, command: AnyCommand, idempotency_key: str | None = None, fingerprint: str = ""
    ) -> asyncio.Future[Outcome]:
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        slot: Answerable = Slot(future, self._outbox, future.done)  # the caller gave up
        if tracing.TRACER is not None:
            slot = traced_answer(slot, command, current_parent())
        self._put(Submission(command, idempotency_key, fingerprint, slot))
        return future

    def execute(
        self, command: AnyCommand, idempotency_key: str | None = None, fingerprint: str = ""
    ) -> Outcome:
        return self.submit(command, idempotency_key, fingerprint).result()

    def queue_depth(self) -> int:
        return self._queue.qsize()

    def figures(self) -> WriterFigures:
        return WriterFigures(
            self.core.counts(), self.overloaded, self._queue.qsize(), self._queue.maxsize
        )

    def not_ready(self) -> WriterUnready | None:
        if self._stopped.is_set():
            return WriterUnready("the writer is stopped")
        if not self._thread.is_alive():
            return WriterUnready("the writer thread is not running", for_good=True)
        return None

    def _put(self, submission: Submission) -> None:
        if self._stopped.is_set():
            raise WriterStoppedError("the ledger is shutting down; retry on another instance")
        try:
            self._queue.put_nowait(submission)
        except queue.Full:
            self.overloaded += 1
            raise WriterOverloadedError(
                f"{self._queue.maxsize} commands are already waiting; retry shortly"
            ) from None

    # --- the writer thread ---------------------------------------------------------------

    def _run(self) -> None:
        try:
            channel = commit_channel(self.core.ledger)
            WriterLoop(self.core, channel, self._next, self._observe).run()
        finally:
            self._fail_waiting()
            self._hand_over()

    def _next(self, wait: bool) -> list[Submission] | None:
        """What waits in the queue, up to a group (waiting for the first if `wait`); None
        once the writer is stopped."""
        taken: list[Submission] = []
        try:
            item = self._queue.get() if wait else self._queue.get_nowait()
            while item is not _STOP:
                assert isinstance(item, Submission)
                taken.append(item)
                if len(taken) == self.core.max_group:
                    return taken
                item = self._queue.get_nowait()
        except queue.Empty:
            return taken
        self._queue.put(_STOP)  # seen again once what was taken is answered
        return taken or None

    def _fail_waiting(self) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, Submission) and item.future.set_running_or_notify_cancel():
                item.future.set_exception(WriterStoppedError("the ledger shut down"))

    def _hand_over(self) -> None:
        """Hand a group's outcomes to their event loops, one wake-up per loop."""
        if not self._outbox:
            return
        outbox = self._outbox[:]  # the slots hold this very list: empty it in place
        self._outbox.clear()
        by_loop: dict[asyncio.AbstractEventLoop, list[LoopDelivery]] = {}
        for delivery in outbox:
            by_loop.setdefault(delivery[0].get_loop(), []).append(delivery)
        for loop, deliveries in by_loop.items():
            try:
                loop.call_soon_threadsafe(settle, deliveries)
            except RuntimeError:  # that loop has closed: nobody is waiting any more
                log.warning("%d outcome(s) for a closed event loop dropped", len(deliveries))
