"""The span processor of a traced process: ended spans go, as records, to an exporter process.

Encoding spans for OTLP is most of what tracing costs, and in a traced process it would run
in the SDK's batch thread, holding the interpreter lock while the process's one busy thread
(the writer's decide/commit loop, the API's event loop) waits for it at every I/O it does.
So each traced process starts a child, `python -m telemetry.exporter_process <service>`
(the SDK's BatchSpanProcessor and OTLP/HTTP exporter, configured by OpenTelemetry's own
variables, which it inherits), and `ShippingSpanProcessor.on_end` only appends the span's
record (span_records.py); every `BATCH` records, and at least every `interval` seconds, the
records go over a Unix socket (SOCK_SEQPACKET: one message per batch, `marshal`-ed) without
ever blocking: when the exporter process lags so far that the socket is full, records wait,
up to `max_queue`, then are dropped (counted, logged), as the SDK's own queue drops them.
An unreachable collector thus loses spans and never slows a command, as before.

`force_flush` ships what is pending and waits for the exporter process to have exported it
(tests, and a process about to exit); `shutdown` does the same and lets the child exit.
"""

from __future__ import annotations

import logging
import marshal
import os
import select
import socket
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING

from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from telemetry.span_records import Record, record_of

if TYPE_CHECKING:
    from opentelemetry.context import Context

log = logging.getLogger(__name__)

BATCH = 128  # records per message (a message stays well under the socket's buffer)
SPANS, FLUSH, FLUSHED = 0, 1, 2  # message kinds: (SPANS, records), (FLUSH, n), (FLUSHED, n, ok)
MAX_MESSAGE = 4 * 1024 * 1024  # a batch's message never comes near this (the receive buffer)


def _env_int(name: str, default: int) -> int:
    try:
        value = int(os.environ.get(name, default))
    except ValueError:
        return default
    return value if value > 0 else default


class ShippingSpanProcessor(SpanProcessor):
    """A SpanProcessor that hands ended spans to an exporter process."""

    def __init__(self, service_name: str) -> None:
        self._interval = min(_env_int("OTEL_BSP_SCHEDULE_DELAY", 5000), 1000) / 1000
        self._max_queue = _env_int("OTEL_BSP_MAX_QUEUE_SIZE", 2048)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        for end in (ours, theirs):
            end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, MAX_MESSAGE)
            end.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, MAX_MESSAGE)
        self._child = subprocess.Popen(
            [sys.executable, "-m", "telemetry.exporter_process", service_name],
            stdin=theirs.fileno(),
            close_fds=True,
        )
        theirs.close()
        ours.setblocking(False)
        self._socket = ours
        self._pending: list[Record] = []
        self._lock = threading.Lock()  # the pending records, the socket's sending side
        self._flushing = threading.Lock()  # one flush at a time reads the socket
        self._flushes = 0
        self._dropped = 0
        self._next_drop_note = 0.0
        self._closed = threading.Event()
        self._timer = threading.Thread(target=self._ship_now_and_then, daemon=True)
        self._timer.name = "glow-span-shipping"
        self._timer.start()

    # --- the SDK's SpanProcessor protocol ------------------------------------------------

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        pass

    def on_end(self, span: ReadableSpan) -> None:
        if span.context is None or not span.context.trace_flags.sampled:
            return
        self.ship(record_of(span))

    def ship(self, record: Record) -> None:
        """Export a span given as its record (made without the SDK's Span: the writer's)."""
        with self._lock:
            pending = self._pending
            pending.append(record)
            if len(pending) >= BATCH:
                self._ship()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Ship what is pending; True once the exporter process has exported it."""
        deadline = time.monotonic() + timeout_millis / 1000
        with self._flushing:
            with self._lock:
                self._ship()
                if self._pending or self._closed.is_set():
                    return not self._pending
                self._flushes += 1
                token = self._flushes
                if not self._send(marshal.dumps((FLUSH, token, timeout_millis))):
                    return False
            while (left := deadline - time.monotonic()) > 0:
                readable, _, _ = select.select([self._socket], [], [], left)
                if not readable:
                    break
                try:
                    answer = marshal.loads(self._socket.recv(MAX_MESSAGE))  # noqa: S302 (our child)
                except (BlockingIOError, EOFError, ValueError):
                    continue
                except OSError:
                    return False
                if answer[0] == FLUSHED and answer[1] == token:
                    return bool(answer[2])
            return False

    def shutdown(self) -> None:
        """Ship what is pending, let the exporter process export it and exit."""
        if self._closed.is_set():
            return
        self.force_flush()
        self._closed.set()
        with self._lock:
            self._socket.close()  # the child reads the end of its input, exports and exits
        try:
            self._child.wait(_env_int("OTEL_BSP_EXPORT_TIMEOUT", 30_000) / 1000)
        except subprocess.TimeoutExpired:
            log.warning("the span exporter process did not exit in time; stopping it")
            self._child.kill()
            self._child.wait()
        self._timer.join(1)

    # --- shipping --------------------------------------------------------------------------

    def _ship_now_and_then(self) -> None:
        while not self._closed.wait(self._interval):
            with self._lock:
                if not self._closed.is_set():
                    self._ship()

    def _ship(self) -> None:
        """Send the pending records, batch by batch, as far as the socket takes them (the
        lock held)."""
        pending = self._pending
        if self._closed.is_set():
            pending.clear()  # the exporter process is gone (said once) or stopping
            return
        sent = 0
        while sent < len(pending):
            batch = pending[sent : sent + BATCH]
            if not self._send(marshal.dumps((SPANS, batch))):
                break
            sent += len(batch)
        del pending[:sent]
        excess = len(pending) - self._max_queue
        if excess > 0:
            del pending[:excess]
            self._dropped += excess
            now = time.monotonic()
            if now >= self._next_drop_note:
                self._next_drop_note = now + 10
                log.warning(
                    "the span exporter process lags: %d spans dropped so far", self._dropped
                )

    def _send(self, message: bytes) -> bool:
        if self._closed.is_set():
            return False
        try:
            self._socket.send(message)
        except BlockingIOError:
            return False  # full: the records wait for the next try
        except OSError:
            if not self._closed.is_set():
                log.warning("the span exporter process is gone: spans are dropped")
                self._closed.set()
            return False
        return True
