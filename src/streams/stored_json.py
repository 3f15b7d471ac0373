"""The JSON types an envelope carries, straight from the JSON the ledger stores.

eventsourcing's transcoder stores a date, a decimal, a UUID or a trace as a tagged object,
`{"_type_": name, "_data_": data}`. The object path revives each into a Python object and
`envelope.plain()` turns it back into a JSON type; this module goes from the tag to the same
JSON value directly. A tag it does not know raises `UnknownTagError`, so the caller can take
the object path for that event (a unit test compares the two paths event by event).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.trace import Trace
from events.envelope import TRACE_OPTIONAL, utc_iso

UTC_SUFFIX = "+00:00"
TRACE_REQUIRED = frozenset({"channel", "principal", "occurred_at"})
# The order Trace.as_dict writes an untraced trace in; a traced one adds TRACE_OPTIONAL.
TRACE_STORED = tuple(field.name for field in fields(Trace) if field.name not in TRACE_OPTIONAL)
TRACE_ALL = frozenset(TRACE_STORED + TRACE_OPTIONAL)


class UnknownTagError(ValueError):
    """A stored value whose plain form only the object path knows."""


def plain_moment(data: str) -> str:
    """A stored datetime as `utc_iso` gives it. What `isoformat()` wrote for a UTC time is
    already that form (25 characters, or 32 with a fraction that is not all zeros); anything
    else is parsed and written again."""
    size = len(data)
    canonical = size == 25 or (size == 32 and data[19] == "." and data[20:26] != "000000")
    if canonical and data.endswith(UTC_SUFFIX) and data[10] == "T":
        return data
    return utc_iso(datetime.fromisoformat(data))


def _plain_date(data: str) -> str:
    return date.fromisoformat(data).isoformat()


def _plain_decimal(data: str) -> str:
    return str(Decimal(data))


def _plain_uuid(data: str) -> str:
    return str(UUID(data))


def _plain_trace(data: dict[str, Any]) -> dict[str, Any]:
    if tuple(data) != TRACE_STORED and not TRACE_REQUIRED <= data.keys() <= TRACE_ALL:
        raise UnknownTagError("a trace whose fields Trace does not take")
    get = data.get
    moment = data["occurred_at"]
    if type(moment) is dict and moment.get("_type_") == "datetime_iso" and len(moment) == 2:
        moment = plain_moment(moment["_data_"])  # every trace has one: spare the generic walk
    trace = {  # TRACE_FIELDS, written out
        "channel": get("channel"),
        "occurred_at": moment,
        "idempotency_key": get("idempotency_key"),
        "source_ref": get("source_ref"),
        "reason": get("reason"),
    }
    for name, value in trace.items():
        if type(value) is dict or type(value) is list:
            trace[name] = plain_stored(value)
    trace_id = get("trace_id")
    if trace_id is not None:  # as `plain` gives a traced Trace
        trace["trace_id"] = trace_id
        if (span_id := get("span_id")) is not None:
            trace["span_id"] = span_id
    return trace


TAGS: dict[str, Callable[[Any], Any]] = {
    "datetime_iso": plain_moment,
    "date_iso": _plain_date,
    "decimal_str": _plain_decimal,
    "uuid_hex": _plain_uuid,
    "trace": _plain_trace,
}


def plain_stored(value: Any) -> Any:
    """A decoded stored value as `plain()` gives the revived one (dicts are changed in place)."""
    kind = type(value)
    if kind is dict:
        return plain_dict(value)
    if kind is list:
        return [plain_stored(item) for item in value]
    return value


def plain_dict(value: dict[str, Any]) -> Any:
    """`plain_stored` of a dict."""
    if len(value) == 2 and "_type_" in value and "_data_" in value:
        convert = TAGS.get(value["_type_"])
        if convert is None:
            raise UnknownTagError(value["_type_"])
        return convert(value["_data_"])
    for key, inner in value.items():
        if type(inner) is dict or type(inner) is list:
            value[key] = plain_stored(inner)
    return value
