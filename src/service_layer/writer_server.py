"""The writer process (started by writer_client.RemoteWriter): the same CommandWriter and
loop as the in-process writer, fed by the API process's frames instead of a queue.

One thread reads the commands off the socket and decides them too: a reader thread beside the
writer's would hand every frame over through a queue and a wake-up, and the two would contend
for the interpreter lock at each of the writer's database round trips. A commit group is every
command that arrived while the one before committed.

On PostgreSQL it first takes the store's writer lock (storage/writer_lock.py): a second
writer for the store (another replica's) tells its API that it stands by, tries again every
GLOW_WRITER_LOCK_RETRY_SECONDS (a log line when it starts waiting and then once a minute),
and leads once the lock is free. A leader whose lock session is lost exits at once: another
writer may be leading by then, and its API answers 503 until it is restarted.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import socket
import threading
import time
from collections.abc import Callable
from functools import partial

import psycopg

from configuration.logs import configure_logging
from configuration.settings import Settings, eventsourcing_env, postgres_conninfo
from service_layer.command_writer import CommandWriter, Submission
from service_layer.writer_frames import (
    LEADING,
    STANDBY,
    STATUS,
    FrameReader,
    Request,
    Result,
    picklable,
    send_frame,
)
from service_layer.writer_loop import WriterLoop
from service_layer.writer_metrics import GroupObserver, Observation
from service_layer.writer_slots import Slot
from service_layer.writer_tracing import traced_answer
from storage.commit_channels import commit_channel
from storage.writer_lock import WriterLock
from telemetry import tracing

log = logging.getLogger("glow.writer")
WAITING_LOG_SECONDS = 60.0  # a standby says it still waits at most this often
LOCK_LOST_EXIT = 75  # EX_TEMPFAIL: the lock session was lost; a restart stands by or leads


def serve_writer(settings: Settings, path: str) -> None:
    """A CommandWriter fed by the API process over the socket at `path`, until it closes.

    SIGINT and SIGTERM are the API process's to handle: a Ctrl-C reaches the whole process
    group, and a writer that stopped on it would refuse the commands the API is draining.
    The API closes the socket once it has drained; this process then answers what it holds
    and exits (and if the API process dies, the socket closes all the same)."""
    from domain.ledger import InventoryLedger

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    configure_logging(settings)
    traced = tracing.start(settings, tracing.WRITER)
    ledger = InventoryLedger(env=eventsourcing_env(settings.event_store_url))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    lock, watching = None, threading.Event()
    if settings.writer_lock and settings.is_postgres():
        lock = WriterLock(postgres_conninfo(settings.event_store_url))
        standby = partial(send_frame, sock, (STATUS, STANDBY))
        if not lead(
            lock, settings.writer_lock_retry_seconds, standby, partial(_closed_within, sock)
        ):
            lock.close()
            sock.close()
            ledger.close()
            return  # the API process closed while this writer stood by
        watching = watch(lock, settings.writer_lock_retry_seconds)
    send_frame(sock, (STATUS, LEADING))
    outbox: list[Result] = []
    observed: list[Observation] = []  # the groups' sizes and commit times, for the API's metrics

    def hand_over() -> None:  # after each commit group
        if outbox:
            results = outbox[:]
            outbox.clear()
            observations = observed[:]
            observed.clear()
            send_frame(sock, (writer.counts().as_tuple(), observations, picklable(results)))

    writer = CommandWriter(
        ledger,
        max_group=settings.max_group,
        max_attempts=settings.max_attempts,
        after_group=hand_over,
    )
    frames = FrameReader(sock)

    def arrived(wait: bool) -> list[Submission] | None:
        burst: list[list[Request]] | None = frames.burst(wait)
        if burst is None:
            return None
        return submissions(burst, outbox, traced)

    try:
        WriterLoop(writer, commit_channel(ledger), arrived, _append_to(observed)).run()
    finally:
        sock.close()
        ledger.close()
        if lock is not None:
            watching.set()  # a normal stop: the lock goes with the session, as it should
            lock.close()
        tracing.stop()  # exports what it still holds


def _append_to(observed: list[Observation]) -> GroupObserver:
    def observe(commands: int, commit_seconds: float) -> None:
        observed.append((commands, commit_seconds))

    return observe


def submissions(
    burst: list[list[Request]],
    outbox: list[Result],
    traced: bool,
    gave_up: Callable[[], bool] | None = None,
) -> list[Submission]:
    """The commands of a burst of frames from one API process, each with a slot that puts
    its outcome in `outbox` (wrapped in its span when traced); `gave_up` says whether that
    API stopped waiting (its connection closed: then a command not decided yet is not)."""
    if traced:
        arrived = time.time_ns()
        return [
            Submission(
                command,
                key,
                fingerprint,
                traced_answer(_slot(request_id, outbox, gave_up), command, parent, arrived),
            )
            for batch in burst
            for request_id, command, key, fingerprint, parent in batch
        ]
    return [
        Submission(command, key, fingerprint, _slot(request_id, outbox, gave_up))
        for batch in burst
        for request_id, command, key, fingerprint, _ in batch
    ]


def _slot(request_id: int, outbox: list[Result], gave_up: Callable[[], bool] | None) -> Slot[int]:
    return Slot(request_id, outbox) if gave_up is None else Slot(request_id, outbox, gave_up)


def lead(
    lock: WriterLock,
    retry_seconds: float,
    standing_by: Callable[[], None],
    stop_within: Callable[[float], bool],
) -> bool:
    """Take the store's writer lock, waiting for it as long as it takes; False if told to
    stop meanwhile (`stop_within(seconds)` waits up to that long and says whether to stop).
    `standing_by` is called once, when the lock is first found taken."""
    said_standby = False
    last_logged = -WAITING_LOG_SECONDS
    while True:
        try:
            if lock.try_acquire():
                if said_standby:
                    log.warning("took the store's writer lock over: this writer now leads")
                return True
            why = f"another writer holds the store's writer lock ({lock.holder()})"
        except psycopg.Error as error:
            lock.close()
            why = f"cannot reach the store to take its writer lock ({type(error).__name__})"
        if not said_standby:
            standing_by()
            said_standby = True
        if time.monotonic() - last_logged >= WAITING_LOG_SECONDS:
            log.warning("standing by: %s; trying again every %s s", why, retry_seconds)
            last_logged = time.monotonic()
        if stop_within(retry_seconds):
            return False


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the API process closes the socket within `seconds` (it sends nothing to a
    writer that stands by)."""
    readable, _, _ = select.select([sock], [], [], seconds)
    if not readable:
        return False
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def watch(lock: WriterLock, interval: float) -> threading.Event:
    """While leading, check the lock's session every interval; if it is gone (the store
    restarted, the connection was cut) another writer may take the lock, so this one stops
    at once instead of writing beside it (its API answers 503 until restarted). Set the
    event returned before closing the lock on a normal stop."""
    stopping = threading.Event()

    def run() -> None:
        while not stopping.wait(interval):
            if lock.still_held() or stopping.is_set():
                continue
            log.error("lost the store's writer lock (its session ended): this writer stops")
            logging.shutdown()
            os._exit(LOCK_LOST_EXIT)

    threading.Thread(target=run, name="writer-lock-watch", daemon=True).start()
    return stopping
