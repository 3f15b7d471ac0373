"""Envelopes decoded straight from stored events, without reviving domain objects.

The stored state is parsed with orjson and its tagged values turned into the JSON types the
envelope carries (`stored_json`); the id, version and position come from the stored record.
The result is byte for byte the envelope the object path (`reading_mapper` then
`envelope_of`) gives, which a unit test checks for every published event type. An event this
path cannot vouch for (an unknown tag, an event class that upcasts, an unexpected shape) gives
None, and the reader takes the object path for it. Only for applications with eventsourcing's
plain Mapper: the customer ledger's events go through their unsealing mapper.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import orjson
from eventsourcing.application import Application
from eventsourcing.persistence import ApplicationRecorder, Mapper
from eventsourcing.utils import resolve_topic

from events.envelope import CUSTOMER_NAMED, Envelope, payload_fields
from events.published import event_type_of, schema_version
from storage.log_stream import StoredRow
from streams.stored_json import UnknownTagError, plain_dict, plain_moment, plain_stored
from streams.stored_sales import SOLD, SubjectLookup, stored_sale_envelope


@runtime_checkable
class StoredRowSource(Protocol):
    """A recorder that reads its log as `StoredRow`s directly (the ledger's on PostgreSQL),
    and the creation events of many aggregates in one query."""

    def select_stored_rows(
        self, after: int, limit: int, stop: int | None = None
    ) -> list[StoredRow]: ...

    def select_creation_rows(self, aggregate_ids: Sequence[str]) -> list[StoredRow]: ...


@runtime_checkable
class StoredRowStream(Protocol):
    """A recorder that streams its whole log as `StoredRow`s, a chunk at a time."""

    def stream_stored_rows(self, after: int, chunk: int) -> Iterator[list[StoredRow]]: ...


def stored_rows(
    recorder: ApplicationRecorder, after: int, limit: int, stop: int | None = None
) -> list[StoredRow]:
    """The notifications after `after` (up to `stop`) as `StoredRow`s, from any recorder."""
    if isinstance(recorder, StoredRowSource):
        return recorder.select_stored_rows(after, limit, stop)
    notifications = recorder.select_notifications(after, limit, stop, inclusive_of_start=False)
    return [
        (n.id, str(n.originator_id), n.originator_version, n.topic, n.state) for n in notifications
    ]


@dataclass(frozen=True)
class StoredShape:
    """What an event class's stored state gives an envelope: its payload fields, in order."""

    fields: tuple[str, ...]
    upcasts: bool  # a class_version above 1: only the object path upcasts
    schema_version: int  # of the published event type (1 for events not published)


@functools.cache
def shape_of(topic: str) -> StoredShape:
    event_class = resolve_topic(topic)
    event_type = event_type_of(topic)
    return StoredShape(
        fields=tuple(payload_fields(event_class)),
        upcasts=getattr(event_class, "class_version", 1) > 1,
        schema_version=schema_version(event_type) if event_type else 1,
    )


class StoredEnvelopes:
    def __init__(self, mapper: Mapper[Any]) -> None:
        self.cipher = mapper.cipher
        self.compressor = mapper.compressor
        self.plain_bytes = not (self.cipher or self.compressor)

    @classmethod
    def for_app(cls, app: Application[Any]) -> StoredEnvelopes | None:
        """The fast decoder for `app`'s events, or None when its mapper is not the plain one."""
        return cls(app.mapper) if type(app.mapper) is Mapper else None

    def envelope(self, row: StoredRow, event_type: str, subject: SubjectLookup) -> Envelope | None:
        position, aggregate_id, version, topic, data = row
        shape = shape_of(topic)
        if shape.upcasts:
            return None
        if event_type == SOLD and self.plain_bytes:  # the commonest event, decoded typed
            sale = stored_sale_envelope(row, shape.fields, shape.schema_version, subject)
            if sale is not None:
                return sale
        try:
            state = orjson.loads(data) if self.plain_bytes else self._state(data)
            if type(state) is not dict:
                return None
            payload = {name: state[name] for name in shape.fields if name in state}
            if event_type in CUSTOMER_NAMED:
                payload["customer_id"] = state["trace"]["_data_"].get("customer_id")
            for name, value in payload.items():
                kind = type(value)
                if kind is dict:
                    payload[name] = plain_dict(value)
                elif kind is list:
                    payload[name] = plain_stored(value)
            timestamp = state["timestamp"]
            if type(timestamp) is dict and timestamp.get("_type_") == "datetime_iso":
                timestamp = plain_moment(timestamp["_data_"])
        except (UnknownTagError, KeyError, TypeError, ValueError, AttributeError):
            return None
        if "class_version" in state or type(timestamp) is not str:
            return None
        return Envelope.trusted(
            f"{aggregate_id}:{version}",
            position,
            event_type,
            aggregate_id,
            version,
            timestamp,
            shape.schema_version,
            subject(aggregate_id, event_type, payload),
            payload,
        )

    def _state(self, data: bytes) -> dict[str, Any]:
        if self.cipher:
            data = self.cipher.decrypt(data)
        if self.compressor:
            data = self.compressor.decompress(data)
        state: dict[str, Any] = orjson.loads(data)
        return state
