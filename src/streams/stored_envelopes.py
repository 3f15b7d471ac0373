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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.application import Application
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import resolve_topic

from streams.envelope import Envelope, payload_fields
from streams.published import schema_version
from streams.stored_json import UnknownTagError, plain_stored, plain_value

SubjectLookup = Callable[[UUID, str, dict[str, Any]], dict[str, str]]


@dataclass(frozen=True)
class StoredShape:
    """What an event class's stored state gives an envelope: its payload fields, in order."""

    fields: tuple[str, ...]
    upcasts: bool  # a class_version above 1: only the object path upcasts


@functools.cache
def shape_of(topic: str) -> StoredShape:
    event_class = resolve_topic(topic)
    return StoredShape(
        fields=tuple(payload_fields(event_class)),
        upcasts=getattr(event_class, "class_version", 1) > 1,
    )


class StoredEnvelopes:
    def __init__(self, mapper: Mapper[Any]) -> None:
        self.cipher = mapper.cipher
        self.compressor = mapper.compressor

    @classmethod
    def for_app(cls, app: Application[Any]) -> StoredEnvelopes | None:
        """The fast decoder for `app`'s events, or None when its mapper is not the plain one."""
        return cls(app.mapper) if type(app.mapper) is Mapper else None

    def envelope(
        self, stored: StoredEvent, position: int, event_type: str, subject: SubjectLookup
    ) -> Envelope | None:
        shape = shape_of(stored.topic)
        if shape.upcasts:
            return None
        try:
            state = self._state(stored)
            payload = {name: plain_value(state[name]) for name in shape.fields if name in state}
            timestamp = plain_stored(state["timestamp"])
        except (UnknownTagError, KeyError, TypeError):
            return None
        if "class_version" in state or type(timestamp) is not str:
            return None
        aggregate_id = _uuid(stored.originator_id)
        text_id = str(aggregate_id)
        version = stored.originator_version
        return Envelope(
            event_id=f"{text_id}:{version}",
            position=position,
            type=event_type,
            aggregate_id=text_id,
            version=version,
            timestamp=timestamp,
            schema_version=schema_version(event_type),
            subject=subject(aggregate_id, event_type, payload),
            payload=payload,
        )

    def _state(self, stored: StoredEvent) -> dict[str, Any]:
        data = stored.state
        if self.cipher:
            data = self.cipher.decrypt(data)
        if self.compressor:
            data = self.compressor.decompress(data)
        state = orjson.loads(data)
        if type(state) is not dict:
            raise TypeError("a stored state that is not an object")
        return state


def _uuid(value: Any) -> UUID:
    return value if type(value) is UUID else UUID(str(value))
