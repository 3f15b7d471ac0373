"""How a decided commit group reaches the store: sent, then landed (`send`, then `receive`),
so the writer can decide the next group in between (service_layer/writer_loop.py).

On PostgreSQL the group's transaction travels over a connection of its own in one call
(group_append.AppendChannel) and really is in flight meanwhile. Elsewhere (the embedded
SQLite store, or a PostgreSQL table the migrations made no append function for) `receive`
saves it through the recorder, one group at a time: the same loop, no overlap.

Either way a failure is raised by `receive`, and the group may or may not have committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent
from psycopg.conninfo import make_conninfo

from storage.command_answers import CommandAnswer
from storage.group_append import AppendChannel
from storage.recorders import ANSWERS, LedgerPostgresRecorder


class CommitChannel(Protocol):
    def send(self, events: Sequence[StoredEvent], answers: Sequence[CommandAnswer]) -> None: ...

    def receive(self) -> None: ...

    def close(self) -> None: ...


class PipelinedAppend:
    """PostgreSQL: the group's append function, sent over the channel's own connection."""

    def __init__(self, recorder: LedgerPostgresRecorder, channel: AppendChannel) -> None:
        self._recorder = recorder
        self._channel = channel

    def send(self, events: Sequence[StoredEvent], answers: Sequence[CommandAnswer]) -> None:
        self._channel.send(self._recorder.append_params(events, answers))

    def receive(self) -> None:
        self._channel.receive()

    def close(self) -> None:
        self._channel.close()


class RecorderAppend:
    """Any recorder that keeps command answers: the group saved when it is received."""

    def __init__(self, ledger: Application[Any]) -> None:
        self._recorder = ledger.recorder
        self._sent: tuple[Sequence[StoredEvent], Sequence[CommandAnswer]] | None = None

    def send(self, events: Sequence[StoredEvent], answers: Sequence[CommandAnswer]) -> None:
        self._sent = (events, answers)

    def receive(self) -> None:
        assert self._sent is not None, "send first"
        (events, answers), self._sent = self._sent, None
        self._recorder.insert_events(events, **{ANSWERS: answers})

    def close(self) -> None:
        self._sent = None


def commit_channel(ledger: Application[Any]) -> CommitChannel:
    """The pipelined append where the ledger's store has one, else the recorder's."""
    recorder = ledger.recorder
    if isinstance(recorder, LedgerPostgresRecorder) and recorder.append is not None:
        return PipelinedAppend(recorder, AppendChannel(conninfo_of(recorder), recorder.append))
    return RecorderAppend(ledger)


def conninfo_of(recorder: LedgerPostgresRecorder) -> str:
    """The connection string of the recorder's pool, for a connection beside it."""
    kwargs = recorder.datastore.pool.kwargs
    assert isinstance(kwargs, dict), "eventsourcing gives its pool keyword arguments"
    names = ("dbname", "host", "port", "user", "password")
    return make_conninfo(**{name: kwargs[name] for name in names if kwargs.get(name)})
