"""The command writer's one loop, as a two-stage pipeline: while a commit group's
transaction is in flight, the next group is read and decided. Both writers run it, fed by
their transport (writer_thread.py: a queue; writer_server.py: the API process's frames),
committing through the store's channel (storage/commit_channels.py).

A group's round trip to PostgreSQL is about as long as deciding it, and the writer is the
stage every command passes, so doing the two one after the other left the writer waiting on
the database for half of its time. Here the next group is decided on the state the group in
flight will leave (CommandWriter.speculate); it is sent only once that group has committed,
and if that group failed (a stale version, a lost connection: whether it committed is then
unknown), its commands and the next group's are decided again on what the store holds. Nobody
hears an outcome before the transaction that recorded it has committed.

One thread, not a thread per stage: a committer thread waiting on the database would have to
win the interpreter lock back from the deciding thread at every round trip (on this 2-core
machine a threaded pipeline was no faster than none).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import psycopg
from eventsourcing.persistence import IntegrityError

from service_layer.command_writer import CommandWriter, Flight, Submission, claim
from service_layer.writer_metrics import GroupObserver
from service_layer.writer_tracing import end_commit, start_commit
from storage.commit_channels import CommitChannel

log = logging.getLogger(__name__)

Source = Callable[[bool], list[Submission] | None]  # wait? -> what came, or None once closed


class WriterLoop:
    def __init__(
        self,
        writer: CommandWriter,
        channel: CommitChannel,
        source: Source,
        observe: GroupObserver | None = None,
    ) -> None:
        """`observe` hears each committed group's size and commit time (writer_metrics.py)."""
        self._writer = writer
        self._channel = channel
        self._source = source
        self._observe = observe

    def run(self) -> None:
        """Until the other side closes, with every command it sent answered."""
        in_flight: Flight | None = None
        backlog: list[Submission] = []  # arrived beyond one group's size
        closed = False
        try:
            while True:
                if not closed:  # wait for commands only with nothing else to do
                    burst = self._source(in_flight is None and not backlog)
                    if burst is None:
                        closed = True
                    else:
                        backlog += claim(burst)
                if closed and not backlog and in_flight is None:
                    return
                size = self._writer.max_group
                group, backlog = backlog[:size], backlog[size:]
                flight = self._writer.decide_group(group) if group else None
                if in_flight is not None:
                    landed = self._land(in_flight)
                    in_flight = None
                    if not landed and flight is not None:  # decided on state never stored
                        self._writer.process_claimed(flight.submissions())
                        continue
                if flight is not None:
                    in_flight = self._launch(flight)
                if in_flight is not None and in_flight.again:
                    # The refused are decided again alone, on stored state: land this first
                    # (if it does not land, abandon() has decided them with the rest).
                    if self._land(in_flight):
                        self._writer.process_alone(in_flight.again)
                    in_flight = None
        finally:
            if in_flight is not None:
                self._land(in_flight)
            self._channel.close()

    def _launch(self, flight: Flight) -> Flight | None:
        """Send a decided group's transaction; None if it needs no landing (already told)."""
        try:
            stored = self._writer.speculate(flight)
            answers = list(flight.group.answers.values())
            if stored or answers:
                flight.sent_at = time.perf_counter()
                flight.span = start_commit(flight, len(stored))  # None unless traced
                self._channel.send(stored, answers)
                return flight
        except Exception:  # an event that cannot be stored, or a connection that failed
            log.exception("sending a commit group failed; deciding its commands again, alone")
            end_commit(flight.span, committed=False)
            self._channel.close()
            self._writer.abandon(flight)
            return None
        self._writer.complete(flight)  # replays only: what they replay has committed
        if flight.again:
            self._writer.process_alone(flight.again)
        return None

    def _land(self, flight: Flight) -> bool:
        """Wait for a group's transaction; False if it did not (surely) commit."""
        try:
            self._channel.receive()
        except (psycopg.IntegrityError, IntegrityError):
            end_commit(flight.span, committed=False)
            self._writer.abandon(flight)  # another writer got there first
            return False
        except Exception:
            log.exception("a commit group's transaction failed; deciding its commands again")
            end_commit(flight.span, committed=False)
            self._writer.abandon(flight)
            return False
        if self._observe is not None:
            commands = len(flight.decided) + len(flight.failed) + len(flight.again)
            self._observe(commands, time.perf_counter() - flight.sent_at)
        end_commit(flight.span, committed=True)
        self._writer.complete(flight)
        return True
