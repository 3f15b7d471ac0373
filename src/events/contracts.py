"""JSON Schema contracts of the published events, and the check that a change keeps them.

The schema of each event type is generated from the event class's annotations and committed
under `src/events/contracts/<type>.v<schema_version>.json`. A change is compatible when every
document valid under the committed contract is still valid under the new one and the other way
round, except that new optional fields may appear: no field removed, none made required, none
changed in type. Anything else needs a new schema version with an upcaster.
"""

from __future__ import annotations

import types
import typing
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.domain import Aggregate

from domain.trace import Trace
from events.envelope import CUSTOMER_NAMED, TRACE_FIELDS, TRACE_OPTIONAL, payload_fields
from events.published import PUBLISHED_EVENTS, schema_version

CONTRACTS_DIRECTORY = Path(__file__).resolve().parent / "contracts"
DRAFT = "https://json-schema.org/draft/2020-12/schema"

_SCALARS: dict[Any, dict[str, Any]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    date: {"type": "string", "format": "date"},
    datetime: {"type": "string", "format": "date-time"},
    UUID: {"type": "string", "format": "uuid"},
    Decimal: {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"},
    Any: {},
}
_TRACE_TYPES: dict[str, Any] = {
    "channel": str,
    "occurred_at": datetime,
    "idempotency_key": str | None,
    "source_ref": str | None,
    "reason": str | None,
}
_TRACE_IDS = {  # W3C Trace Context ids, lower-case hex: optional, events before tracing lack them
    "trace_id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
    "span_id": {"type": "string", "pattern": "^[0-9a-f]{16}$"},
}


def type_schema(hint: Any) -> dict[str, Any]:
    if hint in _SCALARS:
        return dict(_SCALARS[hint])
    if hint is Trace:
        trace = _object({name: type_schema(_TRACE_TYPES[name]) for name in TRACE_FIELDS})
        trace["properties"].update({name: dict(_TRACE_IDS[name]) for name in TRACE_OPTIONAL})
        return trace
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        return {"anyOf": [type_schema(arg) for arg in args]}
    if hint is type(None):
        return {"type": "null"}
    if origin is dict:
        return {"type": "object", "additionalProperties": type_schema(args[1])}
    if origin is list:
        return {"type": "array", "items": type_schema(args[0])}
    raise TypeError(f"no JSON Schema for the annotation {hint!r}; add it to events.contracts")


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": sorted(properties)}


def event_schema(event_type: str, event_class: type[Aggregate.Event]) -> dict[str, Any]:
    version = schema_version(event_type)
    payload = {name: type_schema(hint) for name, hint in payload_fields(event_class).items()}
    envelope: dict[str, dict[str, Any]] = {
        "event_id": {"type": "string"},
        "position": {"type": "integer", "minimum": 1},
        "type": {"const": event_type},
        "aggregate_id": {"type": "string", "format": "uuid"},
        "version": {"type": "integer", "minimum": 1},
        "timestamp": {"type": "string", "format": "date-time"},
        "schema_version": {"const": version},
        "subject": {"type": "object", "additionalProperties": {"type": "string"}},
        "payload": _object(payload),
    }
    if event_type in CUSTOMER_NAMED:  # optional: events published before it lack it
        envelope["payload"]["properties"]["customer_id"] = type_schema(UUID | None)
    return {
        "$schema": DRAFT,
        "$id": f"glowledger:event:{event_type}:v{version}",
        "title": event_type,
        **_object(envelope),
    }


def current_contracts() -> dict[str, dict[str, Any]]:
    """File name -> schema, generated from the code as it is now."""
    return {contract_name(name): event_schema(name, cls) for name, cls in PUBLISHED_EVENTS.items()}


def contract_name(event_type: str) -> str:
    return f"{event_type}.v{schema_version(event_type)}.json"


def committed_contracts(directory: Path = CONTRACTS_DIRECTORY) -> dict[str, dict[str, Any]]:
    return {path.name: orjson.loads(path.read_bytes()) for path in sorted(directory.glob("*.json"))}


def write_contracts(directory: Path = CONTRACTS_DIRECTORY) -> list[str]:
    """Write the contracts that are new or changed compatibly; return their file names."""
    committed = committed_contracts(directory)
    written = []
    for name, schema in current_contracts().items():
        if committed.get(name) != schema:
            (directory / name).write_bytes(orjson.dumps(schema, option=orjson.OPT_INDENT_2) + b"\n")
            written.append(name)
    return written


def incompatibilities(
    committed: dict[str, dict[str, Any]], current: dict[str, dict[str, Any]]
) -> list[str]:
    """Every way the current contracts break the committed ones; empty when compatible."""
    problems = []
    for name, old in committed.items():
        new = current.get(name)
        if new is None:
            problems.append(f"{name}: the event type or its schema version is gone")
            continue
        problems.extend(f"{name}: {problem}" for problem in schema_changes(old, new, "$"))
    return problems


def schema_changes(old: dict[str, Any], new: dict[str, Any], where: str) -> list[str]:
    if "properties" not in old or "properties" not in new:
        if _comparable(old) != _comparable(new):
            return [f"{where} changed from {_short(old)} to {_short(new)}"]
        return []
    problems = []
    old_props, new_props = old["properties"], new["properties"]
    for field in sorted(old_props):
        if field not in new_props:
            problems.append(f"{where}.{field} was removed")
        else:
            problems.extend(schema_changes(old_props[field], new_props[field], f"{where}.{field}"))
    for field in sorted(set(new.get("required", [])) - set(old.get("required", []))):
        if field in old_props:
            problems.append(f"{where}.{field} became required")
        else:
            problems.append(f"{where}.{field} is new and required; events already written lack it")
    return problems


def _comparable(schema: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in schema.items() if key not in ("description", "title")}


def _short(schema: dict[str, Any]) -> str:
    return orjson.dumps(schema).decode()
