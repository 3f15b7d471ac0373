"""The API's side of the shared writer (`glow serve` with GLOW_WRITER_URL): the Writer
protocol answered by `glow writer` over TCP (shared_writer.py) instead of a child process.

It is RemoteWriter with a connection instead of a child: the same frames, one per event-loop
iteration, the same settling of futures. What differs is what a lost writer means. A child
that died is gone for good (the replica is restarted); a shared writer that died is replaced
by its standby, which leads once the dead leader's lock session ends. So on connection loss
every command still waiting is answered 503 `ledger-busy` with Retry-After (its fate is
unknown: retried with the same Idempotency-Key it applies once), the API connects again,
trying GLOW_WRITER_URL's addresses in turn with a growing pause (50 ms doubling to 2 s,
jittered), and /health/ready says not ready until it is back. A writer is accepted only after
it proved GLOW_WRITER_SECRET (writer_wire.py), before any frame of it is unpickled.

Its metrics: this API's queue (waiting commands, its capacity, refusals when full) are its
own, on its /metrics; the commit groups' sizes and times and the commands' outcomes are the
writer's, served by `glow writer` on its own port (the writer serves many APIs: each API
reporting them would count every group once per replica).
"""

from __future__ import annotations

import contextlib
import logging
import random
import socket
import threading

from configuration.settings import Settings
from service_layer.writer import WriterStoppedError, WriterUnreachableError, WriterUnready
from service_layer.writer_client import RemoteWriter
from service_layer.writer_frames import LEADING, FrameReader
from service_layer.writer_metrics import WriterFigures
from service_layer.writer_wire import HandshakeRefused, answer, tune

log = logging.getLogger(__name__)

CONNECT_SECONDS = 2.0  # per address and attempt
FIRST_PAUSE_SECONDS = 0.05
MAX_PAUSE_SECONDS = 2.0
SEND_TIMEOUT_SECONDS = 10.0  # a writer that reads nothing for this long is given up


class NetworkWriter(RemoteWriter):
    """Commands to the shared writer at GLOW_WRITER_URL, reconnecting when it is lost."""

    def __init__(self, settings: Settings, *, max_in_flight: int = 20_000) -> None:
        super().__init__(settings, max_in_flight=max_in_flight)
        self._addresses = settings.writer_addresses()
        self._secret = settings.writer_secret_bytes()
        self._connected = threading.Event()
        self._pause = FIRST_PAUSE_SECONDS
        self._connection: threading.Thread | None = None
        self.connections = 0  # made since start, for tests and logs
        self.refusals = 0  # writers that did not prove the secret

    def start(self, timeout: float = 10.0) -> None:
        """Connects in the background; waits up to `timeout` for the first connection so that
        a replica whose writer is up starts ready, and starts anyway (not ready) if not."""
        self._connection = threading.Thread(
            target=self._connect_and_read, name="writer-connection", daemon=True
        )
        self._connection.start()
        if not self._connected.wait(timeout):
            log.warning(
                "no writer at GLOW_WRITER_URL answered within %s s: commands are refused (503) "
                "and /health/ready says not ready until one does; still trying",
                timeout,
            )

    def stop(self, timeout: float = 10.0) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        with self._send_lock:
            sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # the reader wakes up and the thread ends
        if self._connection is not None:
            self._connection.join(timeout)

    def not_ready(self) -> WriterUnready | None:
        if self._stopped.is_set():
            return WriterUnready("the writer is stopped")
        if not self._connected.is_set() or self._state != LEADING:
            return WriterUnready("not connected to the shared writer (reconnecting)")
        return None

    def figures(self) -> WriterFigures:
        """This API's queue only: the counts are the writer's (its own /metrics)."""
        return WriterFigures(None, self.overloaded, len(self._waiting), self._max_in_flight)

    def _refusal(self) -> WriterStoppedError | None:
        if self._stopped.is_set():
            return WriterStoppedError("the ledger is shutting down; retry on another instance")
        if not self._connected.is_set() or self._state != LEADING:
            return self._unreachable()
        return None

    def _unreachable(self) -> WriterUnreachableError:
        return WriterUnreachableError(
            "the ledger's writer is not reachable (it is failing over or restarting)",
            max(1, round(self._pause)),
        )

    def _lost(self, error: OSError) -> WriterStoppedError:
        return self._unreachable()

    def _connect_and_read(self) -> None:
        while not self._stopped.is_set():
            sock = self._connect()
            if sock is None:
                self._stopped.wait(self._pause * random.uniform(0.5, 1.0))
                self._pause = min(self._pause * 2, MAX_PAUSE_SECONDS)
                continue
            self._pause = FIRST_PAUSE_SECONDS
            with self._send_lock:
                self._sock = sock
            self._read_until_lost(sock)

    def _connect(self) -> socket.socket | None:
        """A connection to the first address whose writer leads and proves the secret."""
        for host, port in self._addresses:
            if self._stopped.is_set():
                return None
            try:
                sock = socket.create_connection((host, port), timeout=CONNECT_SECONDS)
            except OSError:
                continue  # not listening: a standby, or a writer restarting
            try:
                tune(sock, SEND_TIMEOUT_SECONDS)
                answer(sock, self._secret)
            except HandshakeRefused as refused:
                self.refusals += 1
                log.error("refused the writer at %s:%s: %s", host, port, refused)
                sock.close()
                continue
            except OSError:
                sock.close()
                continue
            self.connections += 1
            log.info("connected to the shared writer at %s:%s", host, port)
            return sock
        return None

    def _read_until_lost(self, sock: socket.socket) -> None:
        frames = FrameReader(sock)
        try:
            while (burst := frames.burst()) is not None:
                self._take(burst)
                if self._state == LEADING:
                    self._connected.set()
        except OSError as error:
            if not self._stopped.is_set():
                log.warning("the connection to the shared writer failed: %s", error)
        finally:
            with self._lock:
                self._connected.clear()
                self._state = None
            with self._send_lock:
                self._sock = None
            sock.close()
            if not self._stopped.is_set():
                log.warning(
                    "lost the shared writer: waiting commands are answered 503; reconnecting"
                )
            self._fail_waiting(self._unreachable())
