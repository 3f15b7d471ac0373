"""The writer process (started by writer_client.RemoteWriter): the same CommandWriter and
loop as the in-process writer, fed by the API process's frames instead of a queue.

One thread reads the commands off the socket and decides them too: a reader thread beside the
writer's would hand every frame over through a queue and a wake-up, and the two would contend
for the interpreter lock at each of the writer's database round trips. A commit group is every
command that arrived while the one before committed.
"""

from __future__ import annotations

import logging
import signal
import socket

from configuration.settings import Settings, eventsourcing_env
from service_layer.command_writer import CommandWriter, Submission
from service_layer.writer_frames import FrameReader, Request, Result, picklable, send_frame
from service_layer.writer_loop import WriterLoop
from service_layer.writer_metrics import GroupObserver, Observation
from service_layer.writer_slots import Slot
from service_layer.writer_tracing import traced_answer
from storage.commit_channels import commit_channel
from telemetry import tracing


def serve_writer(settings: Settings, path: str) -> None:
    """A CommandWriter fed by the API process over the socket at `path`, until it closes.

    SIGINT and SIGTERM are the API process's to handle: a Ctrl-C reaches the whole process
    group, and a writer that stopped on it would refuse the commands the API is draining.
    The API closes the socket once it has drained; this process then answers what it holds
    and exits (and if the API process dies, the socket closes all the same)."""
    from domain.ledger import InventoryLedger

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING)
    traced = tracing.start(settings, tracing.WRITER)
    ledger = InventoryLedger(env=eventsourcing_env(settings.event_store_url))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
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
        if traced:
            return [
                Submission(
                    command,
                    key,
                    fingerprint,
                    traced_answer(
                        Slot(request_id, outbox), command, tracing.from_traceparent(parent)
                    ),
                )
                for batch in burst
                for request_id, command, key, fingerprint, parent in batch
            ]
        return [
            Submission(command, key, fingerprint, Slot(request_id, outbox))
            for batch in burst
            for request_id, command, key, fingerprint, _ in batch
        ]

    try:
        WriterLoop(writer, commit_channel(ledger), arrived, _append_to(observed)).run()
    finally:
        sock.close()
        ledger.close()
        tracing.stop()  # exports what it still holds


def _append_to(observed: list[Observation]) -> GroupObserver:
    def observe(commands: int, commit_seconds: float) -> None:
        observed.append((commands, commit_seconds))

    return observe
