"""The shared writer (`glow writer`): one command writer per store, serving every API replica
over TCP, so API replicas scale out while every command still passes one decide/commit loop.

It is the writer process of writer_server.py with many connections instead of one: the same
CommandWriter, WriterLoop (group commit, pipelined), frames (writer_frames.py), per-command
trace context and store lock. One thread reads every connection's frames and decides them:
a commit group is every command that arrived, from whichever API, while the one before was
committing, and each group's outcomes go back in one frame per API that sent commands in it.

Leadership: before it listens it takes the store's writer lock (storage/writer_lock.py); a
second `glow writer` stands by without listening (so APIs, trying GLOW_WRITER_URL's
addresses in turn or a Service's ready endpoints, reach only the leader), not ready, and
leads when the leader's lock session ends. A leader whose lock session is lost exits at once
(writer_server.watch), like the child writer.

The wire: connections are accepted by a thread of their own and admitted only after the
HMAC handshake on GLOW_WRITER_SECRET (writer_wire.py), each in a short-lived thread with a
deadline, so a peer that connects and says nothing delays neither the writer nor the other
APIs. A connection that closes is dropped: its commands not decided yet are not applied
(their API answered 503 and callers retry with the same key), and an API that stops reading
is dropped once a send to it has waited SEND_TIMEOUT_SECONDS.

Stopping (SIGTERM): it stops reading, answers and commits everything it has read, then
closes every connection (each API fails what it still waits for with 503 and connects to
the standby, which leads within a lock retry) and ends its lock session.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import selectors
import socket
import threading
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from configuration.settings import Settings, SettingsError, eventsourcing_env, postgres_conninfo
from service_layer.command_writer import CommandWriter, Submission
from service_layer.writer_frames import (
    LEADING,
    STATUS,
    FrameReader,
    Request,
    Result,
    picklable,
    send_frame,
)
from service_layer.writer_loop import WriterLoop
from service_layer.writer_metrics import INVENTORY, WriterFigures, group_observer
from service_layer.writer_server import lead, submissions, watch
from service_layer.writer_wire import HandshakeRefused, challenge, tune
from storage.commit_channels import commit_channel
from storage.writer_lock import WriterLock
from telemetry import tracing

log = logging.getLogger("glow.writer")

STARTING, STANDBY, STOPPING = "starting", "standby", "stopping"
MAX_HANDSHAKES = 32  # connections proving themselves at once; more are closed at once
SEND_TIMEOUT_SECONDS = 10.0


class Peer:
    """An admitted API connection: its frames, and the outcomes bound for it."""

    def __init__(self, sock: socket.socket, address: str) -> None:
        self.sock = sock
        self.address = address
        self.frames = FrameReader(sock)
        self.outbox: list[Result] = []
        self.closed = False

    def gave_up(self) -> bool:
        return self.closed


class SharedWriter:
    """`glow writer`'s work: lead (or stand by), listen, admit, decide, commit, answer."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._secret = settings.writer_secret_bytes()
        self._address = settings.writer_listen_address()
        self.state = STARTING
        self._stop = threading.Event()
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._wake_reader.setblocking(False)
        self._arrivals: queue.SimpleQueue[Peer] = queue.SimpleQueue()
        self._selector = selectors.DefaultSelector()
        self._peers: set[Peer] = set()
        self._handshakes = threading.BoundedSemaphore(MAX_HANDSHAKES)
        self._traced = False
        self._writer: CommandWriter | None = None
        self.admitted = 0  # connections that proved the secret
        self.refused = 0  # connections that did not (or came beyond MAX_HANDSHAKES)
        self.bound: tuple[str, int] | None = None  # the address listened on, once leading

    def not_ready(self) -> list[str]:
        """Why this writer takes no commands now (empty when it leads and listens)."""
        if self.state == LEADING:
            return []
        return {
            STARTING: ["writer: starting"],
            STANDBY: ["writer: stands by: another writer leads this store"],
            STOPPING: ["draining: the writer is shutting down"],
        }[self.state]

    def stop(self) -> None:
        """From a signal handler or another thread: finish what was read, then stop."""
        self._stop.set()
        with contextlib.suppress(OSError):  # closed already: run() is over
            self._wake_writer.send(b"!")

    def run(self) -> int:
        from domain.ledger import InventoryLedger

        settings = self._settings
        self._traced = tracing.start(settings, tracing.WRITER)
        ledger = InventoryLedger(env=eventsourcing_env(settings.event_store_url))
        lock: WriterLock | None = None
        watching = threading.Event()
        listener: socket.socket | None = None
        try:
            if settings.writer_lock:
                lock = WriterLock(postgres_conninfo(settings.event_store_url))
                if not lead(
                    lock, settings.writer_lock_retry_seconds, self._standby, self._stop.wait
                ):
                    return 0  # stopped while standing by
                watching = watch(lock, settings.writer_lock_retry_seconds)
            listener = self._listen()
            self.state = LEADING
            threading.Thread(
                target=self._accept, args=(listener,), name="writer-accept", daemon=True
            ).start()
            self._writer = CommandWriter(
                ledger,
                max_group=settings.max_group,
                max_attempts=settings.max_attempts,
                after_group=self._hand_over,
            )
            self._selector.register(self._wake_reader, selectors.EVENT_READ, None)
            loop = WriterLoop(
                self._writer, commit_channel(ledger), self._arrived, group_observer(INVENTORY)
            )
            loop.run()  # until stop(): everything read is answered
            return 0
        finally:
            self.state = STOPPING
            if listener is not None:
                _close_listener(listener)
            for peer in list(self._peers):
                self._drop(peer)
            self._selector.close()
            self._wake_writer.close()
            self._wake_reader.close()
            ledger.close()
            if lock is not None:
                watching.set()  # a normal stop: the lock goes with its session
                lock.close()
            tracing.stop()

    @property
    def connected(self) -> int:
        return len(self._peers)

    def figures(self) -> WriterFigures:
        """The writer's counts (each API reports its own queue)."""
        counts = self._writer.counts() if self._writer is not None else None
        return WriterFigures(counts, 0, 0, None)

    def _standby(self) -> None:
        self.state = STANDBY
        log.warning("standing by: another writer leads this store; not listening until it leads")

    def _listen(self) -> socket.socket:
        host, port = self._address
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((host, port))
        except OSError as error:
            listener.close()
            raise SettingsError(
                f"cannot listen on {host}:{port} (GLOW_WRITER_LISTEN): "
                f"{error.strerror or error}; choose a free address"
            ) from None
        listener.listen(128)
        self.bound = listener.getsockname()[:2]
        log.warning("leads the store; takes commands on %s:%s", *self.bound)
        return listener

    def _accept(self, listener: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                sock, address = listener.accept()
            except OSError:
                return  # the listener closed: stopping
            where = f"{address[0]}:{address[1]}"
            if not self._handshakes.acquire(blocking=False):
                self.refused += 1
                log.warning(
                    "refused %s: %d connections are proving themselves", where, MAX_HANDSHAKES
                )
                sock.close()
                continue
            threading.Thread(
                target=self._admit, args=(sock, where), name="writer-handshake", daemon=True
            ).start()

    def _admit(self, sock: socket.socket, where: str) -> None:
        """The handshake first; nothing of a peer is read as a frame before it succeeds."""
        try:
            tune(sock, SEND_TIMEOUT_SECONDS)
            challenge(sock, self._secret)
            send_frame(sock, (STATUS, LEADING))  # the writer thread knows nothing of it yet
        except (HandshakeRefused, OSError) as error:
            self.refused += 1
            log.warning("refused a connection from %s: %s", where, error)
            sock.close()
            return
        finally:
            self._handshakes.release()
        self.admitted += 1
        self._arrivals.put(Peer(sock, where))
        try:
            self._wake_writer.send(b"+")
        except OSError:
            sock.close()  # stopping meanwhile

    def _arrived(self, wait: bool) -> list[Submission] | None:
        """The WriterLoop's source: every command that arrived on any connection (waiting
        for one when `wait`), None once stopping."""
        if self._stop.is_set():
            return None
        came: list[Submission] = []
        for key, _ in self._selector.select(None if wait else 0):
            peer: Peer | None = key.data
            if peer is None:
                self._take_arrivals()
                continue
            try:
                burst: list[list[Request]] | None = peer.frames.burst(wait=False)
            except OSError:
                burst = None
            if burst is None:
                self._drop(peer)
                continue
            came += submissions(burst, peer.outbox, self._traced, peer.gave_up)
        return came

    def _take_arrivals(self) -> None:
        try:
            while self._wake_reader.recv(4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass
        while True:
            try:
                peer = self._arrivals.get_nowait()
            except queue.Empty:
                return
            self._peers.add(peer)
            self._selector.register(peer.sock, selectors.EVENT_READ, peer)
            log.info("admitted an API from %s (%d connected)", peer.address, len(self._peers))

    def _hand_over(self) -> None:
        """After each commit group: each connection's outcomes in one frame."""
        for peer in list(self._peers):
            if peer.outbox:
                results = picklable(peer.outbox)
                peer.outbox.clear()
                try:
                    send_frame(peer.sock, (None, [], results))
                except OSError as error:
                    log.warning("dropped the API at %s: %s", peer.address, error)
                    self._drop(peer)

    def _drop(self, peer: Peer) -> None:
        if peer.closed:
            return
        peer.closed = True
        self._peers.discard(peer)
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(peer.sock)
        peer.sock.close()
        log.info("an API from %s left (%d connected)", peer.address, len(self._peers))


def _close_listener(listener: socket.socket) -> None:
    with contextlib.suppress(OSError):
        listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
    listener.close()


class SharedWriterCollector(Collector):
    """`glow writer`'s own figures, read at each scrape: whether it leads, its connections."""

    def __init__(self, shared: SharedWriter) -> None:
        self._shared = shared

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        shared = self._shared
        yield GaugeMetricFamily(
            "glow_writer_leading",
            "1 while this writer leads the store (holds its writer lock and takes commands)",
            value=1 if shared.state == LEADING else 0,
        )
        yield GaugeMetricFamily(
            "glow_writer_connections", "API connections admitted and open", value=shared.connected
        )
        yield CounterMetricFamily(
            "glow_writer_connections_refused",
            "Connections refused: the peer did not prove GLOW_WRITER_SECRET in time",
            value=shared.refused,
        )
