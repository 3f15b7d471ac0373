"""Events and aggregate states as plain JSON values, for auditors to read."""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson
from eventsourcing.domain import Aggregate

from domain.trace import Trace

ENVELOPE = frozenset({"originator_id", "originator_version", "timestamp", "originator_topic"})


def jsonable(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value, default=str))


def event_type(event: object) -> str:
    return type(event).__qualname__


def describe_event(event: Any) -> dict[str, Any]:
    """Who, why and when (occurred and recorded) of one event, then its own fields."""
    fields = {k: v for k, v in vars(event).items() if k not in ENVELOPE}
    trace = fields.pop("trace", None)
    return {
        "version": event.originator_version,
        "type": event_type(event),
        "recorded_at": event.timestamp.isoformat(),
        "occurred_at": trace.occurred_at.isoformat() if isinstance(trace, Trace) else None,
        # the request that made it: its OpenTelemetry trace, and the JSON log lines naming it
        "trace_id": trace.trace_id if isinstance(trace, Trace) else None,
        "trace": jsonable(trace.as_dict()) if isinstance(trace, Trace) else None,
        "data": jsonable(fields),
    }


def describe_state(aggregate: Aggregate, today: date) -> dict[str, Any]:
    """A Stock's summary counts expiry against `today`; other aggregates list their fields."""
    summary = getattr(aggregate, "summary", None)
    if callable(summary):
        state: dict[str, Any] = summary(today)
    elif callable(getattr(aggregate, "as_dict", None)):
        state = aggregate.as_dict()  # type: ignore[attr-defined]
    else:
        state = {k: v for k, v in vars(aggregate).items() if not k.startswith("_")}
    return {
        "aggregate_id": str(aggregate.id),
        "type": type(aggregate).__qualname__,
        "version": aggregate.version,
        "modified_on": aggregate.modified_on.isoformat(),
        "state": jsonable(state),
    }
