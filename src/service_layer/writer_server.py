"""The writer process (started by writer_client.RemoteWriter): the same CommandWriter and
loop as the in-process writer, fed by the API process's frames instead of a queue.

One thread reads the commands off the socket and decides them too: a reader thread beside the
writer's would hand every frame over through a queue and a wake-up, and the two would contend
for the interpreter lock at each of the writer's database round trips. A commit group is every
command that arrived while the one before committed.
"""

from __future__ import annotations

import socket

from configuration.logs import configure_logging
from configuration.settings import Settings, eventsourcing_env
from service_layer.command_writer import CommandWriter, Submission
from service_layer.writer_frames import FrameReader, Request, Result, picklable, send_frame
from service_layer.writer_loop import WriterLoop
from service_layer.writer_slots import Slot
from storage.commit_channels import commit_channel


def serve_writer(settings: Settings, path: str) -> None:
    """A CommandWriter fed by the API process over the socket at `path`, until it closes."""
    from domain.ledger import InventoryLedger

    configure_logging(settings)
    ledger = InventoryLedger(env=eventsourcing_env(settings.event_store_url))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    outbox: list[Result] = []

    def hand_over() -> None:  # after each commit group
        if outbox:
            results = outbox[:]
            outbox.clear()
            counts = (writer.commands_committed, writer.groups_committed)
            send_frame(sock, (*counts, picklable(results)))

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
        return [
            Submission(command, key, fingerprint, Slot(request_id, outbox))
            for batch in burst
            for request_id, command, key, fingerprint in batch
        ]

    try:
        WriterLoop(writer, commit_channel(ledger), arrived).run()
    finally:
        sock.close()
        ledger.close()
