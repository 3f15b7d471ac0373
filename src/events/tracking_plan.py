"""The tracking plan: one JSON Schema per behaviour event name (`tracking_plan/<event>.json`),
over the event's `properties`, as Segment Protocols keeps one. Each schema is compiled once
with fastjsonschema (Python code generated from the schema); an event that breaks its schema
is a violation of one kind: the event is not in the plan, a required property is missing, a
property has the wrong type, a property is not in the plan, or a value is out of its range.

A property marked `"x-free-text": true` (a search query: words a person typed) is checked but
never stored (`storable`): free text may hold personal data, which no read model keeps."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import fastjsonschema
import orjson

PLAN_DIRECTORY = Path(__file__).resolve().parent / "tracking_plan"
UNKNOWN_EVENT = "unknown_event"
MISSING_PROPERTY = "missing_property"
WRONG_TYPE = "wrong_type"
UNPLANNED_PROPERTY = "unplanned_property"
INVALID_VALUE = "invalid_value"
NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
NOT_A_NAME = "(not a snake_case name)"
KINDS = (UNKNOWN_EVENT, MISSING_PROPERTY, WRONG_TYPE, UNPLANNED_PROPERTY, INVALID_VALUE)


@dataclass(frozen=True)
class Violation:
    """What was wrong with one event: never a value, only names (values may be personal)."""

    event: str
    kind: str
    property: str  # '' when the whole event is concerned
    detail: str  # what was wrong and what was expected


@dataclass(frozen=True)
class PlannedEvent:
    name: str
    schema: dict[str, Any]
    check: Callable[[Any], Any]
    free_text: frozenset[str]

    def violation(self, properties: Any) -> Violation | None:
        try:
            self.check(properties)
        except fastjsonschema.JsonSchemaValueException as error:
            return self._explained(properties, error)
        return None

    def storable(self, properties: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in properties.items() if k not in self.free_text}

    def _explained(
        self, properties: Any, error: fastjsonschema.JsonSchemaValueException
    ) -> Violation:
        planned = self.schema.get("properties", {})
        given = properties if isinstance(properties, dict) else {}
        if error.rule == "required":
            missing = sorted(set(error.rule_definition or ()) - set(given))
            name = missing[0] if missing else ""
            return Violation(
                self.name,
                MISSING_PROPERTY,
                name,
                f"{self.name}.{name} is missing; expected the properties "
                f"{sorted(self.schema.get('required', []))} at least",
            )
        if error.rule == "additionalProperties":
            extra = sorted(set(given) - set(planned))
            name = extra[0] if extra else ""
            return Violation(
                self.name,
                UNPLANNED_PROPERTY,
                _bounded(name),
                f"{self.name} has no property {_bounded(name)!r} in the tracking plan; "
                f"expected only {sorted(planned)}",
            )
        name = _property(error.name or "")
        expected = planned.get(name, {}) if name else {"type": "object"}
        if error.rule == "type":
            return Violation(
                self.name,
                WRONG_TYPE,
                name,
                f"{self.name}.{name or 'properties'} has the wrong type; expected "
                f"{expected.get('type')}",
            )
        return Violation(
            self.name,
            INVALID_VALUE,
            name,
            f"{self.name}.{name or 'properties'} breaks its rule in the tracking plan; "
            f"expected {error.rule} {error.rule_definition!r}",
        )


class TrackingPlan:
    def __init__(self, events: Mapping[str, PlannedEvent]) -> None:
        self.events = dict(events)

    @classmethod
    def load(cls, directory: Path = PLAN_DIRECTORY) -> TrackingPlan:
        found = {}
        for path in sorted(directory.glob("*.json")):
            schema = orjson.loads(path.read_bytes())
            free = frozenset(
                name
                for name, rule in schema.get("properties", {}).items()
                if rule.get("x-free-text")
            )
            # The x- keywords are annotations: fastjsonschema ignores unknown keywords.
            found[path.stem] = PlannedEvent(path.stem, schema, fastjsonschema.compile(schema), free)
        return cls(found)

    def names(self) -> list[str]:
        return sorted(self.events)

    def violation(self, event: str, properties: Any) -> Violation | None:
        planned = self.events.get(event)
        if planned is None:
            return Violation(
                _bounded(event),
                UNKNOWN_EVENT,
                "",
                f"the event {_bounded(event)!r} is not in the tracking plan; expected one of "
                f"{', '.join(self.names())}",
            )
        return planned.violation(properties)

    def storable(self, event: str, properties: Mapping[str, Any]) -> dict[str, Any]:
        planned = self.events.get(event)
        return dict(properties) if planned is None else planned.storable(properties)


@cache
def tracking_plan() -> TrackingPlan:
    """The plan committed in the repository, compiled once per process."""
    return TrackingPlan.load()


def _property(name: str) -> str:
    """`data.sku` or `data.skus[0]` (fastjsonschema's names) -> the top-level property."""
    rest = name.removeprefix("data").lstrip(".")
    return rest.split(".")[0].split("[")[0]


def _bounded(text: str) -> str:
    """A name the caller chose is kept and reported only if it looks like a name (snake_case,
    at most 64 characters): anything else (an email typed as an event name) is never kept."""
    return text if NAME.fullmatch(text) else NOT_A_NAME
