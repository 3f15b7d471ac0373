"""The command writer in a process of its own, so deciding and saving never wait for the GIL.

In one process the writer thread and the event loop serving HTTP share one interpreter lock:
under load the writer spends most of a commit group's time waiting for it, and it is the
serial stage every command passes. Here the API process keeps HTTP, and a child process runs
the same CommandWriter (same group commit, cache, idempotency and retries) in one thread that
reads the commands off the socket itself: a commit group is every command that arrived while
the one before committed. They talk over a Unix socket in length-prefixed pickle frames: the
API sends the commands an event-loop iteration collected in one frame; the writer answers a
whole commit group in one frame.

A command whose caller timed out may still be applied; the caller was told to retry with the
same Idempotency-Key, which never applies a command twice. If the writer process dies, every
waiting command fails with WriterStoppedError and the API answers 503.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import multiprocessing
import pickle
import socket
import struct
import tempfile
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from configuration.settings import Settings, eventsourcing_env, postgres_conninfo
from domain.commands import Command
from service_layer.command_writer import (
    CommandWriter,
    Outcome,
    Submission,
    WriterOverloadedError,
    WriterStoppedError,
)
from service_layer.writer_loop import WriterLoop
from storage.group_append import AppendChannel
from storage.recorders import LedgerPostgresRecorder

log = logging.getLogger(__name__)

_LENGTH = struct.Struct(">I")
Request = tuple[int, Command, str | None, str]
Result = tuple[int, Outcome | None, BaseException | None]


def send_frame(sock: socket.socket, message: Any) -> None:
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(_LENGTH.pack(len(payload)) + payload)


class FrameReader:
    """Messages off a socket a whole burst at a time: waits for the first complete one, then
    takes every one that has arrived meanwhile, without waiting again."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = bytearray()
        self._closed = False

    def burst(self, wait: bool = True) -> list[Any] | None:
        """The next burst of messages (without `wait`, perhaps none); None once the other
        side has closed."""
        messages = self._complete()
        while not messages and wait:
            if self._closed or not self._receive(0):
                return None
            messages = self._complete()
        while not self._closed and self._receive(socket.MSG_DONTWAIT):
            messages += self._complete()
        if not messages and self._closed:
            return None
        return messages

    def _receive(self, flags: int) -> bool:
        try:
            chunk = self._sock.recv(1 << 20, flags)
        except BlockingIOError:
            return False
        if not chunk:
            self._closed = True
            return False
        self._buffer += chunk
        return True

    def _complete(self) -> list[Any]:
        messages = []
        buffer, start, end = self._buffer, 0, len(self._buffer)
        while end - start >= _LENGTH.size:
            (length,) = _LENGTH.unpack_from(buffer, start)
            first = start + _LENGTH.size
            if end - first < length:
                break
            # Only our own two processes speak on this socket: it lives in a directory only
            # this user can open (mkdtemp, 0700) and accepts exactly one connection.
            messages.append(pickle.loads(buffer[first : first + length]))  # noqa: S301
            start = first + length
        del buffer[:start]
        return messages


class RemoteWriter:
    """The API side: CommandWriter's interface, answered by the writer process."""

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
        self.commands_committed = 0
        self.groups_committed = 0

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

    def submit(
        self, command: Command, idempotency_key: str | None = None, fingerprint: str = ""
    ) -> Future[Outcome]:
        future: Future[Outcome] = Future()
        with self._lock:
            request_id = self._register(future)
        self._send([(request_id, command, idempotency_key, fingerprint)])
        return future

    def execute(
        self, command: Command, idempotency_key: str | None = None, fingerprint: str = ""
    ) -> Outcome:
        return self.submit(command, idempotency_key, fingerprint).result()

    def submit_async(
        self, command: Command, idempotency_key: str | None = None, fingerprint: str = ""
    ) -> asyncio.Future[Outcome]:
        """Commands submitted in one event-loop iteration travel in one frame."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Outcome] = loop.create_future()
        with self._lock:
            request_id = self._register((loop, future))
            self._outbox.append((request_id, command, idempotency_key, fingerprint))
            if not self._flush_scheduled:
                self._flush_scheduled = True
                loop.call_soon(self._flush)
        return future

    def _register(self, waiter: Future[Outcome] | tuple[asyncio.AbstractEventLoop, Any]) -> int:
        if self._stopped.is_set():
            raise WriterStoppedError("the ledger is shutting down; retry on another instance")
        if self._gone is not None:
            raise WriterStoppedError(self._gone)
        if len(self._waiting) >= self._max_in_flight:
            raise WriterOverloadedError(
                f"{self._max_in_flight} commands are already waiting; retry shortly"
            )
        request_id = next(self._ids)
        self._waiting[request_id] = waiter
        return request_id

    def _flush(self) -> None:
        with self._lock:
            batch, self._outbox = self._outbox, []
            self._flush_scheduled = False
        if batch:
            self._send(batch)

    def _send(self, batch: list[Request]) -> None:
        assert self._sock is not None, "start the writer first"
        try:
            with self._send_lock:
                send_frame(self._sock, batch)
        except OSError as error:
            stopped = WriterStoppedError(f"the writer process is gone ({error})")
            for request_id, *_ in batch:
                self._settle(request_id, None, stopped)

    def _read(self) -> None:
        assert self._sock is not None
        frames = FrameReader(self._sock)
        try:
            while (burst := frames.burst()) is not None:
                for committed, groups, results in burst:
                    self.commands_committed, self.groups_committed = committed, groups
                    by_loop: dict[asyncio.AbstractEventLoop, list[Any]] = {}
                    with self._lock:
                        waiters = [(self._waiting.pop(r, None), o, e) for r, o, e in results]
                    for waiter, outcome, error in waiters:
                        if isinstance(waiter, tuple):
                            by_loop.setdefault(waiter[0], []).append((waiter[1], outcome, error))
                        elif waiter is not None:
                            _set(waiter, outcome, error)
                    for loop, settled in by_loop.items():
                        _call_in(loop, _settle_all, settled)
        except OSError:
            log.exception("reading the writer process's answers failed")
        finally:
            with self._lock:
                self._gone = "the writer process stopped; retry with the same Idempotency-Key"
            if not self._stopped.is_set():
                log.error("the writer process stopped: commands are refused until a restart")
            self._fail_waiting()

    def _settle(self, request_id: int, outcome: Outcome | None, error: BaseException) -> None:
        with self._lock:
            waiter = self._waiting.pop(request_id, None)
        if isinstance(waiter, tuple):
            _call_in(waiter[0], _settle_all, [(waiter[1], outcome, error)])
        elif waiter is not None:
            _set(waiter, outcome, error)

    def _fail_waiting(self) -> None:
        with self._lock:
            ids = list(self._waiting)
        error = WriterStoppedError("the writer process stopped; retry with the same key")
        for request_id in ids:
            self._settle(request_id, None, error)


def _set(future: Any, outcome: Outcome | None, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(outcome)


def _settle_all(settled: list[tuple[Any, Outcome | None, BaseException | None]]) -> None:
    for future, outcome, error in settled:
        _set(future, outcome, error)


def _call_in(loop: asyncio.AbstractEventLoop, *call: Any) -> None:
    with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
        loop.call_soon_threadsafe(*call)


# --- the writer process ------------------------------------------------------------------


class RemoteSlot:
    """Where the writer puts the outcome of a command another process sent."""

    def __init__(self, request_id: int, outbox: list[Result]) -> None:
        self.request_id = request_id
        self._outbox = outbox
        self._answered = False

    def set_running_or_notify_cancel(self) -> bool:
        return True

    def set_result(self, result: Outcome) -> None:
        self._answered = True
        self._outbox.append((self.request_id, result, None))

    def set_exception(self, exception: BaseException | None) -> None:
        self._answered = True
        self._outbox.append((self.request_id, None, exception))

    def done(self) -> bool:
        return self._answered


def serve_writer(settings: Settings, path: str) -> None:
    """The writer process: a CommandWriter fed by the API process over the socket at `path`."""
    from domain.ledger import InventoryLedger

    logging.basicConfig(level=logging.WARNING)
    ledger = InventoryLedger(env=eventsourcing_env(settings.event_store_url))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    outbox: list[Result] = []

    def hand_over() -> None:  # after each commit group
        if outbox:
            results = outbox[:]
            outbox.clear()
            send_frame(sock, (writer.commands_committed, writer.groups_committed, _safe(results)))

    writer = CommandWriter(
        ledger,
        max_group=settings.max_group,
        max_attempts=settings.max_attempts,
        after_group=hand_over,
    )
    # This thread reads the commands and decides them too: a reader thread beside the
    # writer's would hand every frame over through a queue and a wake-up, and the two would
    # contend for the interpreter lock at each of the writer's database round trips.
    reader = FrameReader(sock)

    def unpack(burst: list[Any]) -> list[Submission]:
        return [
            Submission(command, key, fingerprint, RemoteSlot(request_id, outbox))
            for batch in burst
            for request_id, command, key, fingerprint in batch
        ]

    recorder = ledger.recorder
    append = recorder.append if isinstance(recorder, LedgerPostgresRecorder) else None
    try:
        if isinstance(recorder, LedgerPostgresRecorder) and append is not None:
            channel = AppendChannel(postgres_conninfo(settings.event_store_url), append)
            WriterLoop(writer, recorder, channel, reader.burst, unpack).run()
        else:  # a table the migrations made no append function for: one group at a time
            while (burst := reader.burst()) is not None:
                submissions = unpack(burst)
                for start in range(0, len(submissions), writer.max_group):
                    writer.process(submissions[start : start + writer.max_group])
    finally:
        sock.close()
        ledger.close()


def _safe(results: list[Result]) -> list[Result]:
    """Errors that cannot cross a process boundary are sent as their message."""
    safe: list[Result] = []
    for request_id, outcome, error in results:
        if error is not None:
            try:
                pickle.loads(pickle.dumps(error))  # noqa: S301 (our own bytes)
            except Exception:
                error = RuntimeError(f"{type(error).__name__}: {error}")
        safe.append((request_id, outcome, error))
    return safe
