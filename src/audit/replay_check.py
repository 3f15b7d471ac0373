"""Rebuild aggregates from an export file alone and compare each with the live store."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from audit.bulk_reading import collector_paused
from audit.event_decoding import reading_mapper
from audit.export import stored_event
from domain.ledger import InventoryLedger


@dataclass
class Rebuilt:
    """Aggregates folded from events in log order; those whose history does not start at their
    creation (a time window, a resumed tail) are set aside as incomplete."""

    aggregates: dict[UUID, Aggregate] = field(default_factory=dict)
    incomplete: set[UUID] = field(default_factory=set)
    events: int = 0

    def apply(self, event: Any) -> None:
        self.events += 1
        aggregate_id = event.originator_id
        aggregate = self.aggregates.get(aggregate_id)  # one lookup: hashing a UUID is Python
        if aggregate is not None:
            mutated = event.mutate(aggregate)
            if mutated is not aggregate:
                self.aggregates[aggregate_id] = mutated
        elif event.originator_version == 1 and aggregate_id not in self.incomplete:
            self.aggregates[aggregate_id] = event.mutate(None)
        else:
            self.incomplete.add(aggregate_id)


@dataclass
class ReplayComparison:
    events: int = 0
    matching: list[str] = field(default_factory=list)
    differing: list[str] = field(default_factory=list)
    missing_from_store: list[str] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)

    @property
    def agrees(self) -> bool:
        return not self.differing and not self.missing_from_store

    def as_dict(self) -> dict[str, Any]:
        return {
            "agrees": self.agrees,
            "events": self.events,
            "aggregates_matching": len(self.matching),
            "differing": self.differing,
            "missing_from_store": self.missing_from_store,
            "incomplete_in_file": self.incomplete,
        }


def rebuild(
    ledger: InventoryLedger,
    lines: Iterable[bytes],
    progress: Callable[[int], None] | None = None,
) -> Rebuilt:
    """Aggregates from an export file's lines alone."""
    rebuilt = Rebuilt()
    to_domain_event = reading_mapper(ledger).to_domain_event
    with collector_paused():
        for raw in lines:
            if raw.strip():
                rebuilt.apply(to_domain_event(stored_event(orjson.loads(raw))))
                if progress is not None:
                    progress(len(raw))
    return rebuilt


def compare_with_store(
    ledger: InventoryLedger,
    lines: Iterable[bytes],
    progress: Callable[[int], None] | None = None,
) -> ReplayComparison:
    rebuilt = rebuild(ledger, lines, progress)
    result = ReplayComparison(
        events=rebuilt.events, incomplete=sorted(str(i) for i in rebuilt.incomplete)
    )
    for aggregate_id, aggregate in rebuilt.aggregates.items():
        try:
            live: Aggregate = ledger.repository.get(aggregate_id, version=aggregate.version)
        except AggregateNotFoundError:
            result.missing_from_store.append(str(aggregate_id))
            continue
        same = _state(live) == _state(aggregate)
        (result.matching if same else result.differing).append(str(aggregate_id))
    return result


def _state(aggregate: Aggregate) -> dict[str, Any]:
    return {k: v for k, v in vars(aggregate).items() if k != "_pending_events"}
