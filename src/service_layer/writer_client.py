"""The command writer in a process of its own (the API's side: RemoteWriter), so deciding
and saving never wait for the GIL. The default on PostgreSQL (configuration/settings.py).

In one process the writer thread and the event loop serving HTTP share one interpreter lock:
under load the writer spends most of a commit group's time waiting for it, and it is the
serial stage every command passes. Here the API process keeps HTTP, and a child process
(writer_server.py) runs the same CommandWriter (same group commit, cache, idempotency and
retries) in the same loop as the in-process writer. They talk in frames (writer_frames.py)
over a Unix socket.

A command whose caller timed out may still be applied; the caller was told to retry with the
same Idempotency-Key, which never applies a command twice. If the writer process dies, every
waiting command fails with WriterStoppedError and the API answers 503.

On PostgreSQL the writer process leads only while it holds the store's writer lock
(writer_server.py): while another replica's writer leads, this one stands by, commands are
refused with WriterStandbyError (503 ledger-busy with Retry-After) and not_ready() says so, so
the replica is not ready; it takes commands once its writer has taken the lock over.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import multiprocessing
import socket
import tempfile
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from configuration.settings import Settings
from domain.commands import Command
from service_layer.writer import (
    Outcome,
    WriterOverloadedError,
    WriterStandbyError,
    WriterStoppedError,
    WriterUnready,
)
from service_layer.writer_frames import LEADING, STANDBY, STATUS, FrameReader, Request, send_frame
from service_layer.writer_metrics import INVENTORY, WriterCounts, WriterFigures, observe_all
from service_layer.writer_server import serve_writer
from service_layer.writer_slots import settle
from telemetry import tracing

log = logging.getLogger(__name__)


class RemoteWriter:
    """The API side: the Writer protocol, answered by the writer process."""

    def __init__(self, settings: Settings, *, max_in_flight: int = 20_000) -> None:
        self._settings = settings
        self._max_in_flight = max_in_flight
        self._ids = itertools.count(1)
        # Two locks: the answers must be read while a send waits for the writer process to
        # read. With one, a send blocked on a full socket held the lock the reading thread
        # needed, while the writer process, blocked on sending its answers, read nothing.
        self._lock = threading.Lock()  # the waiting table and the outbox
        self._send_lock = threading.Lock()  # the socket's send side
        self._waiting: dict[int, Future[Outcome] | tuple[asyncio.AbstractEventLoop, Any]] = {}
        self._outbox: list[Request] = []
        self._flush_scheduled = False
        self._stopped = threading.Event()
        self._gone: str | None = None  # why the writer process can take no more commands
        self._sock: socket.socket | None = None
        self._process: Any = None
        self._reader: threading.Thread | None = None
        self._state: str | None = None  # LEADING or STANDBY, as the writer process said
        self._state_known = threading.Event()
        self.counts = WriterCounts()  # the writer process's, as its last frame told them
        self.overloaded = 0  # commands refused here because too many were waiting

    @property
    def commands_committed(self) -> int:
        return self.counts.committed

    @property
    def groups_committed(self) -> int:
        return self.counts.groups

    def start(self, timeout: float = 120.0) -> None:
        directory = tempfile.mkdtemp(prefix="glow-writer-")
        path = str(Path(directory) / "socket")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(1)
        listener.settimeout(timeout)
        context = multiprocessing.get_context("spawn")
        self._process = context.Process(
            target=serve_writer, args=(self._settings, path), name="glow-writer", daemon=True
        )
        self._process.start()
        try:
            self._sock, _ = listener.accept()
        except TimeoutError:
            self._process.kill()
            raise WriterStoppedError(
                f"the writer process did not start within {timeout} s"
            ) from None
        finally:
            listener.close()
            Path(path).unlink(missing_ok=True)
            Path(directory).rmdir()
        self._sock.settimeout(None)
        self._reader = threading.Thread(target=self._read, name="writer-replies", daemon=True)
        self._reader.start()
        # Leading or standing by, it says at once (or its process is gone: then _gone says).
        if not self._state_known.wait(timeout) or self._gone is not None:
            self._process.kill()
            raise WriterStoppedError(
                self._gone or f"the writer process said nothing within {timeout} s"
            )
        if self._state == STANDBY:
            log.warning(
                "this replica's writer stands by: another writer leads the store; commands "
                "are refused (503) and /health/ready says not ready until it takes over"
            )

    def stop(self, timeout: float = 10.0) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        if self._sock is not None:
            with self._send_lock:
                self._sock.shutdown(socket.SHUT_WR)  # the writer finishes what it has, exits
        if self._reader is not None:
            self._reader.join(timeout)
        if self._process is not None:
            self._process.join(timeout)
            if self._process.is_alive():
                self._process.kill()
        if self._sock is not None:
            self._sock.close()

    def queue_depth(self) -> int:
        return len(self._waiting)

    def figures(self) -> WriterFigures:
        return WriterFigures(self.counts, self.overloaded, len(self._waiting), self._max_in_flight)

    def not_ready(self) -> WriterUnready | None:
        if self._stopped.is_set():
            return WriterUnready("the writer is stopped")
        if self._gone is not None or self._process is None or not self._process.is_alive():
            return WriterUnready("the writer process is not running", for_good=True)
        if self._state != LEADING:
            return WriterUnready("the writer stands by: another writer leads this store")
        return None

    def submit(
        self, command: Command, idempotency_key: str | None = None, fingerprint: str = ""
    ) -> Future[Outcome]:
        future: Future[Outcome] = Future()
        parent = tracing.current_traceparent() if tracing.TRACER is not None else None
        with self._lock:
            request_id = self._register(future)
        self._send([(request_id, command, idempotency_key, fingerprint, parent)])
        return future

    def execute(
        self, command: Command, idempotency_key: str | None = None, fingerprint: str = ""
    ) -> Outcome:
        return self.submit(command, idempotency_key, fingerprint).result()

    def submit_async(
        self, command: Command, idempotency_key: str | None = None, fingerprint: str = ""
    ) -> asyncio.Future[Outcome]:
        """Commands submitted in one event-loop iteration travel in one frame, each with the
        trace context of the request that submitted it (when tracing is on)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Outcome] = loop.create_future()
        parent = tracing.current_traceparent() if tracing.TRACER is not None else None
        with self._lock:
            request_id = self._register((loop, future))
            self._outbox.append((request_id, command, idempotency_key, fingerprint, parent))
            if not self._flush_scheduled:
                self._flush_scheduled = True
                loop.call_soon(self._flush)
        return future

    def _register(self, waiter: Future[Outcome] | tuple[asyncio.AbstractEventLoop, Any]) -> int:
        refusal = self._refusal()
        if refusal is not None:
            raise refusal
        if len(self._waiting) >= self._max_in_flight:
            self.overloaded += 1
            raise WriterOverloadedError(
                f"{self._max_in_flight} commands are already waiting; retry shortly"
            )
        request_id = next(self._ids)
        self._waiting[request_id] = waiter
        return request_id

    def _refusal(self) -> WriterStoppedError | None:
        """Why no command can be taken now (the 503 to answer), or None."""
        if self._stopped.is_set():
            return WriterStoppedError("the ledger is shutting down; retry on another instance")
        if self._gone is not None:
            return WriterStoppedError(self._gone)
        if self._state != LEADING:
            retry = max(1, round(self._settings.writer_lock_retry_seconds))
            return WriterStandbyError(
                "this replica's writer stands by while another writer leads the store; retry "
                "(the same Idempotency-Key never applies a command twice)",
                retry,
            )
        return None

    def _flush(self) -> None:
        with self._lock:
            batch, self._outbox = self._outbox, []
            self._flush_scheduled = False
        if batch:
            self._send(batch)

    def _send(self, batch: list[Request]) -> None:
        try:
            with self._send_lock:
                if self._sock is None:
                    raise ConnectionError("not connected to the writer")
                send_frame(self._sock, batch)
        except OSError as error:
            lost = self._lost(error)
            for request_id, *_ in batch:
                self._settle(request_id, None, lost)

    def _lost(self, error: OSError) -> WriterStoppedError:
        """What a command hears when it could not be sent."""
        return WriterStoppedError(f"the writer process is gone ({error})")

    def _read(self) -> None:
        assert self._sock is not None
        frames = FrameReader(self._sock)
        try:
            while (burst := frames.burst()) is not None:
                self._take(burst)
        except OSError:
            log.exception("reading the writer process's answers failed")
        finally:
            with self._lock:
                self._gone = "the writer process stopped; retry with the same Idempotency-Key"
            if not self._stopped.is_set():
                log.error("the writer process stopped: commands are refused until a restart")
            self._state_known.set()  # start() waits for nothing more
            self._fail_waiting(
                WriterStoppedError("the writer process stopped; retry with the same key")
            )

    def _take(self, burst: list[Any]) -> None:
        """A burst of the writer's frames: its state, or a group's outcomes to settle (with
        the writer's counts and observations when it reports them here)."""
        for message in burst:
            if message[0] == STATUS:
                if self._state == STANDBY and message[1] == LEADING:
                    log.warning("this replica's writer took the store over: it leads")
                self._state = message[1]
                self._state_known.set()
                continue
            counts, observations, results = message
            if counts is not None:
                self.counts = WriterCounts(*counts)
            if observations:
                observe_all(INVENTORY, observations)
            by_loop: dict[asyncio.AbstractEventLoop, list[Any]] = {}
            with self._lock:
                waiters = [(self._waiting.pop(r, None), o, e) for r, o, e in results]
            for waiter, outcome, error in waiters:
                if isinstance(waiter, tuple):
                    by_loop.setdefault(waiter[0], []).append((waiter[1], outcome, error))
                elif waiter is not None:
                    settle([(waiter, outcome, error)])
            for loop, settled in by_loop.items():
                _call_in(loop, settle, settled)

    def _settle(self, request_id: int, outcome: Outcome | None, error: BaseException) -> None:
        with self._lock:
            waiter = self._waiting.pop(request_id, None)
        if isinstance(waiter, tuple):
            _call_in(waiter[0], settle, [(waiter[1], outcome, error)])
        elif waiter is not None:
            settle([(waiter, outcome, error)])

    def _fail_waiting(self, error: BaseException) -> None:
        with self._lock:
            ids = list(self._waiting)
            self._outbox.clear()  # registered above: failed with the rest
        for request_id in ids:
            self._settle(request_id, None, error)


def _call_in(loop: asyncio.AbstractEventLoop, *call: Any) -> None:
    with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
        loop.call_soon_threadsafe(*call)
