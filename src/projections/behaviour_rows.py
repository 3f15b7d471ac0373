"""What one ingestion (a POST /track or /track/batch) leaves to be written: rows of the behaviour
tables, already decided (consent, pseudonyms, the plan's verdicts), so that the embedded buffer
and the broker's worker write the same thing. One `TrackedBatch` is also one message of the
`behaviour` topic (orjson of its lists: no personal data, only pseudonyms and counts)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson

# behaviour_events' columns, in the order of each row tuple
EVENT_COLUMNS = (
    "event_id",
    "occurred_at",
    "received_at",
    "event",
    "channel",
    "person",
    "anonymous_id",
    "sku",
    "properties",
    "violation",
)
AGGREGATE_COLUMNS = ("day", "event", "channel", "sku", "events")
VIOLATION_COLUMNS = ("day", "event", "kind", "property", "outcome", "events")
PEOPLE_COLUMNS = ("customer_id", "person", "linked_at")
IDENTITY_COLUMNS = ("anonymous_id", "person", "linked_at")
REFUSAL_COLUMNS = ("day", "reason", "events")
# experiment_exposures' columns (migrations/clickhouse/0005_experiments.sql): lists shown to
# customers assigned to an experiment's variant travel the same path as behaviour
EXPOSURE_COLUMNS = (
    "exposure_id",
    "experiment_id",
    "variant",
    "person",
    "products",
    "list_kind",
    "rule_violations",
    "at",
)
EXPERIMENT_PEOPLE_COLUMNS = ("customer_id", "person", "linked_at")

EventRow = tuple[str, int, int, str, str, str, str, str, str, str]  # times: epoch milliseconds
ExposureRow = tuple[str, str, str, str, list[str], str, int, int]  # at: epoch milliseconds


@dataclass
class TrackedBatch:
    events: list[EventRow] = field(default_factory=list)
    aggregates: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)
    violations: Counter[tuple[str, str, str, str, str]] = field(default_factory=Counter)
    people: list[tuple[str, str, int]] = field(default_factory=list)  # customer, person, ms
    stitches: list[tuple[str, str, int]] = field(default_factory=list)  # anonymous, person, ms
    exposures: list[ExposureRow] = field(default_factory=list)
    experiment_people: list[tuple[str, str, int]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(
            self.events
            or self.aggregates
            or self.violations
            or self.people
            or self.stitches
            or self.exposures
            or self.experiment_people
        )

    def extend(self, other: TrackedBatch) -> None:
        self.events += other.events
        self.aggregates.update(other.aggregates)
        self.violations.update(other.violations)
        self.people += other.people
        self.stitches += other.stitches
        self.exposures += other.exposures
        self.experiment_people += other.experiment_people

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "events": self.events,
                "aggregates": [[*key, n] for key, n in self.aggregates.items()],
                "violations": [[*key, n] for key, n in self.violations.items()],
                "people": self.people,
                "stitches": self.stitches,
                "exposures": self.exposures,
                "experiment_people": self.experiment_people,
            }
        )

    @classmethod
    def from_json(cls, data: bytes) -> TrackedBatch:
        found: dict[str, Any] = orjson.loads(data)
        return cls(
            [tuple(row) for row in found["events"]],
            Counter({tuple(row[:4]): row[4] for row in found["aggregates"]}),
            Counter({tuple(row[:5]): row[5] for row in found["violations"]}),
            [tuple(row) for row in found["people"]],
            [tuple(row) for row in found["stitches"]],
            [_exposure(row) for row in found.get("exposures", [])],  # older messages lack them
            [tuple(row) for row in found.get("experiment_people", [])],
        )


def _exposure(row: list[Any]) -> ExposureRow:
    exposure_id, experiment_id, variant, person, products, kind, broken, at = row
    return (exposure_id, experiment_id, variant, person, list(products), kind, broken, at)


def day_of(iso_day: str) -> date:
    return date.fromisoformat(iso_day)
