"""Reads the event store's notification log as published envelopes, in log order."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Notification

from audit.event_decoding import reading_mapper
from events.envelope import SUBJECT_FIELDS, Envelope, envelope_of, plain, subject_of
from events.published import event_type_of
from projections.facts import Rows, batch_rows
from storage.log_stream import StoredRow
from streams.outages import is_outage
from streams.stored_envelopes import (
    StoredEnvelopes,
    StoredRowSource,
    StoredRowStream,
    shape_of,
    stored_rows,
)
from streams.stored_sales import SOLD, stored_sold_rows

CreationLoader = Callable[[UUID], Aggregate.Event | None]


class SubjectBook:
    """Remembers each aggregate's subject from its creation event; asks the store on a miss
    (a reader that resumes mid-log has not seen the creation of older aggregates). A subject
    never changes, so the oldest remembered is forgotten first, and a hit costs one lookup."""

    def __init__(self, load_creation: CreationLoader, size: int = 200_000) -> None:
        self._load_creation = load_creation
        self._size = size
        self._subjects: dict[str, dict[str, str]] = {}

    def subject(self, event: Aggregate.Event, event_type: str) -> dict[str, str]:
        return self.subject_for(str(event.originator_id), event_type, _payload(event))

    def subject_for(
        self, aggregate_id: str, event_type: str, payload: dict[str, Any]
    ) -> dict[str, str]:
        found = subject_of(event_type, payload)
        if found is None:
            found = self._subjects.get(aggregate_id)
            if found is not None:
                return found
            found = self._from_store(aggregate_id)
        self._remember(aggregate_id, found)
        return found

    def unknown(self, aggregate_ids: set[str]) -> set[str]:
        return {i for i in aggregate_ids if i not in self._subjects}

    def learn(self, aggregate_id: str, event_type: str, payload: dict[str, Any]) -> None:
        """Remember the subject an aggregate's creation event (type, payload) gives."""
        self._remember(aggregate_id, subject_of(event_type, payload) or {})

    def _from_store(self, aggregate_id: str) -> dict[str, str]:
        creation = self._load_creation(UUID(aggregate_id))
        if creation is None:
            return {}
        event_type = event_type_of(type(creation).__qualname__)
        return (subject_of(event_type, _payload(creation)) if event_type else None) or {}

    def _remember(self, aggregate_id: str, subject: dict[str, str]) -> None:
        self._subjects[aggregate_id] = subject
        if len(self._subjects) > self._size:
            del self._subjects[next(iter(self._subjects))]


def _payload(event: Aggregate.Event) -> dict[str, Any]:
    return {k: plain(v) for k, v in vars(event).items() if isinstance(v, str)}


def to_envelopes(
    positioned: Iterable[tuple[int, Aggregate.Event]], book: SubjectBook
) -> list[Envelope]:
    """Envelopes of the published events among (position, event) pairs; others are skipped."""
    envelopes = []
    for position, event in positioned:
        event_type = event_type_of(type(event).__qualname__)
        if event_type is not None:
            subject = book.subject(event, event_type)
            envelopes.append(envelope_of(event, event_type, position, subject))
    return envelopes


@dataclass(frozen=True)
class Unreadable:
    """A stored event of a published type that could not be decoded into its envelope (an
    upcaster or a decoder that fails on it): named by position, id and type, with the error."""

    position: int
    event_id: str
    type: str
    error: Exception


@dataclass(frozen=True)
class LogBatch:
    envelopes: list[Envelope]
    last_position: int  # the last notification read, published or not
    unreadable: list[Unreadable] = field(default_factory=list)


class LogReader:
    """Pages through an eventsourcing application's notification log. Events are decoded
    straight from their stored JSON where the application's mapper allows it (several times
    faster), else through the mapper into domain events."""

    def __init__(self, app: Application[UUID]) -> None:
        self.app = app
        self.book = SubjectBook(self._creation)
        self.stored = StoredEnvelopes.for_app(app)

    def head(self) -> int:
        return self.app.recorder.max_notification_id() or 0

    def read(self, after: int, limit: int = 1000, stop: int | None = None) -> LogBatch:
        rows = stored_rows(self.app.recorder, after, limit, stop)
        return self.envelopes_of(rows) if rows else LogBatch([], after)

    def event_at(self, position: int) -> Envelope | None:
        """The published event at `position` (None if the event there is not published);
        raises what decoding it raises."""
        found = self.read(position - 1, 1, stop=position)
        if found.unreadable:
            raise found.unreadable[0].error
        return found.envelopes[0] if found.envelopes else None

    def history(self, aggregate_id: str) -> list[Envelope]:
        """Every published event of one aggregate, in order (positions left at 0: a store's
        history is read by aggregate, not from the log)."""
        events: list[Any] = list(self.app.events.get(UUID(aggregate_id)))
        return to_envelopes(((0, event) for event in events), self.book)

    def envelopes_of(self, rows: list[StoredRow]) -> LogBatch:
        """The envelopes of the published events among `rows` (a page of the log, in order,
        not empty). If the page does not decode, each row is decoded on its own, and those
        that fail come back as `unreadable` instead of stopping the page."""
        try:
            return LogBatch(self._decoded(rows), rows[-1][0])
        except Exception as error:
            if is_outage(error):
                raise
        envelopes, unreadable = [], []
        for row in rows:
            try:
                envelopes += self._decoded([row])
            except Exception as error:
                if is_outage(error):
                    raise
                position, aggregate_id, version, topic, _ = row
                kind = event_type_of(topic) or topic
                unreadable.append(Unreadable(position, f"{aggregate_id}:{version}", kind, error))
        return LogBatch(envelopes, rows[-1][0], unreadable)

    def _decoded(self, rows: list[StoredRow]) -> list[Envelope]:
        self._learn_subjects(rows)
        return [
            self._envelope(row, event_type)
            for row in rows
            if (event_type := event_type_of(row[3])) is not None
        ]

    def stored_page(self, after: int, limit: int, stop: int | None = None) -> list[StoredRow]:
        """The notifications after `after` as stored."""
        return stored_rows(self.app.recorder, after, limit, stop)

    def stored_pages(self, after: int, chunk: int) -> Iterator[list[StoredRow]]:
        """Every notification after `after` as stored, `chunk` at a time, in log order: through
        one cursor where the store streams its log (PostgreSQL), else page by page."""
        recorder = self.app.recorder
        if isinstance(recorder, StoredRowStream):
            yield from recorder.stream_stored_rows(after, chunk)
            return
        while stored := self.stored_page(after, chunk):
            yield stored
            after = stored[-1][0]

    def facts_of(self, stored: list[StoredRow], rows: Rows) -> int:
        """The fact rows of the published events among `stored` (a page in log order),
        appended to `rows`; returns how many events were published ones. Sales go from their
        stored form to their rows (`stored_sales`) where the store keeps plain JSON; the rest
        through their envelopes."""
        if not stored:
            return 0
        self._learn_subjects(stored)
        direct = self.stored is not None and self.stored.plain_bytes
        events, others = 0, []
        for row in stored:
            event_type = event_type_of(row[3])
            if event_type is None:
                continue
            events += 1
            position, aggregate_id, version, topic, data = row
            if direct and event_type == SOLD and not shape_of(topic).upcasts:
                found = self.book.subject_for(aggregate_id, SOLD, {})
                if stored_sold_rows(rows, position, aggregate_id, version, data, found):
                    continue
            others.append(self._envelope(row, event_type))
        batch_rows(others, rows)  # a fact is a function of its event alone: order is free
        return events

    def _learn_subjects(self, rows: list[StoredRow]) -> None:
        """Subjects of the aggregates in `rows` not created in them nor known yet, from one
        query (a reader that starts mid-log, or a rebuild's reader of every other page, would
        otherwise load each aggregate's creation event on its own)."""
        recorder, stored = self.app.recorder, self.stored
        if not isinstance(recorder, StoredRowSource) or stored is None:
            return
        created, later = set(), set()
        for _, aggregate_id, version, topic, _ in rows:
            event_type = event_type_of(topic)
            if event_type is None:
                continue
            if version > 1:
                later.add(aggregate_id)
                continue
            created.add(aggregate_id)
            if event_type not in SUBJECT_FIELDS:  # names nothing: no need to look it up
                self.book.learn(aggregate_id, event_type, {})
        unknown = self.book.unknown(later - created)
        for row in recorder.select_creation_rows(sorted(unknown)) if unknown else []:
            event_type = event_type_of(row[3])
            envelope = event_type and stored.envelope(row, event_type, _no_subject)
            if envelope:
                self.book.learn(envelope.aggregate_id, envelope.type, envelope.payload)

    def _envelope(self, row: StoredRow, event_type: str) -> Envelope:
        """Straight from the stored JSON where the decoder can vouch for it, else through the
        application's mapper."""
        decoded = (
            self.stored.envelope(row, event_type, self.book.subject_for) if self.stored else None
        )
        return decoded or self._through_mapper(_notification(row), event_type)

    def _through_mapper(self, notification: Notification, event_type: str) -> Envelope:
        event: Any = reading_mapper(self.app).to_domain_event(notification)  # orjson mapper
        return envelope_of(event, event_type, notification.id, self.book.subject(event, event_type))

    def _creation(self, aggregate_id: UUID) -> Aggregate.Event | None:
        events: list[Any] = list(self.app.events.get(aggregate_id, lte=1))
        return events[0] if events else None


def _no_subject(aggregate_id: str, event_type: str, payload: dict[str, Any]) -> dict[str, str]:
    return {}


def _notification(row: StoredRow) -> Notification:
    position, aggregate_id, version, topic, state = row
    return Notification(
        id=position,
        originator_id=UUID(aggregate_id),
        originator_version=version,
        topic=topic,
        state=state,
    )
