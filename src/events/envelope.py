"""The one envelope every published event travels in, serialised with orjson.

`event_id` is the aggregate id and version, so a duplicate delivery carries the same id.
`subject` names the aggregate in business words (the SKU and location of a stock), taken from
its creation event, so a consumer never has to reverse a uuid5. The payload leaves out the
trace's principal: it may name a person, and no read model or topic carries plaintext PII; a
customer event leaves out its `personal` member and contact ids (`UNPUBLISHED_FIELDS`).
"""

from __future__ import annotations

import functools
import typing
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.domain import Aggregate

from domain.trace import Trace
from events.published import schema_version

BASE_FIELDS = frozenset(
    {"originator_id", "originator_version", "timestamp", "originator_topic", "originator_id_type"}
)
TRACE_FIELDS = ("channel", "occurred_at", "idempotency_key", "source_ref", "reason")
# The request's trace and span (OpenTelemetry), only in events recorded while tracing was on.
TRACE_OPTIONAL = ("trace_id", "span_id")
# Events whose payload also names the customer the command was for, by their pseudonymous id
# (a UUID; never a name or contact), so a read model can list a customer's orders.
CUSTOMER_NAMED = frozenset({"Order.Placed"})
# Members never published: a customer event's `personal` (sealed in the store; a topic carries
# not even the ciphertext) and the keyed id of a contact (`identity_id`, derived from an email
# or a phone). What is left of a customer event is ids, purposes, skus, points and the trace.
UNPUBLISHED_FIELDS = frozenset({"personal", "identity_id"})

# The creation event of each aggregate and the fields that name it.
SUBJECT_FIELDS: dict[str, tuple[str, ...]] = {
    "Stock.Opened": ("sku", "location"),
    "Sku.Defined": ("sku",),
    "Product.Defined": ("product_code",),
    "Location.Registered": ("code",),
    "PreorderSwitch.Opened": ("sku", "channel"),
    "SalesChannel.Opened": ("channel",),
    "Kit.Defined": ("sku",),
    "ReplenishmentPolicy.Opened": ("sku", "location"),
    "Suggestion.Made": ("sku", "location"),
    "ReplenishmentBook.Opened": ("location",),
}


@dataclass(frozen=True)
class Envelope:
    event_id: str
    position: int
    type: str
    aggregate_id: str
    version: int
    timestamp: str
    schema_version: int
    subject: dict[str, str]
    payload: dict[str, Any]

    def to_json(self) -> bytes:
        return orjson.dumps(self.as_dict())

    def as_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "position": self.position,
            "type": self.type,
            "aggregate_id": self.aggregate_id,
            "version": self.version,
            "timestamp": self.timestamp,
            "schema_version": self.schema_version,
            "subject": self.subject,
            "payload": self.payload,
        }

    @classmethod
    def from_json(cls, raw: bytes | str) -> Envelope:
        return cls(**orjson.loads(raw))

    @classmethod
    def trusted(
        cls,
        event_id: str,
        position: int,
        type: str,
        aggregate_id: str,
        version: int,
        timestamp: str,
        schema_version: int,
        subject: dict[str, str],
        payload: dict[str, Any],
    ) -> Envelope:
        """The constructor without a frozen dataclass's per-field setattr calls, for decoders
        that make tens of thousands a second (equal to `Envelope(...)` with the same values)."""
        envelope = object.__new__(cls)
        object.__setattr__(
            envelope,
            "__dict__",
            {
                "event_id": event_id,
                "position": position,
                "type": type,
                "aggregate_id": aggregate_id,
                "version": version,
                "timestamp": timestamp,
                "schema_version": schema_version,
                "subject": subject,
                "payload": payload,
            },
        )
        return envelope


@functools.cache
def payload_fields(event_class: type[Aggregate.Event]) -> dict[str, Any]:
    hints = typing.get_type_hints(event_class)
    return {
        name: hint
        for name, hint in hints.items()
        if name not in BASE_FIELDS
        and name not in UNPUBLISHED_FIELDS
        and typing.get_origin(hint) is not typing.ClassVar
    }


def subject_of(event_type: str, payload: dict[str, Any]) -> dict[str, str] | None:
    """The subject a creation event gives its aggregate, or None for other events."""
    fields = SUBJECT_FIELDS.get(event_type)
    return None if fields is None else {field: payload[field] for field in fields}


def envelope_of(
    event: Aggregate.Event, event_type: str, position: int, subject: dict[str, str]
) -> Envelope:
    payload = {
        name: plain(getattr(event, name))
        for name in payload_fields(type(event))
        if name in vars(event)
    }
    if event_type in CUSTOMER_NAMED:
        payload["customer_id"] = event.trace.customer_id  # type: ignore[attr-defined]
    aggregate_id = str(event.originator_id)
    return Envelope(
        event_id=f"{aggregate_id}:{event.originator_version}",
        position=position,
        type=event_type,
        aggregate_id=aggregate_id,
        version=event.originator_version,
        timestamp=utc_iso(event.timestamp),
        schema_version=schema_version(event_type),
        subject=subject,
        payload=payload,
    )


def utc_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def plain(value: Any) -> Any:
    """A value as JSON types: dates as ISO strings, decimals as strings, traces without PII."""
    if isinstance(value, Trace):
        trace = {name: plain(getattr(value, name)) for name in TRACE_FIELDS}
        if value.trace_id is not None:  # as Trace.as_dict writes them: only when set
            trace["trace_id"] = value.trace_id
            if value.span_id is not None:
                trace["span_id"] = value.span_id
        return trace
    if isinstance(value, datetime):
        return utc_iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value
