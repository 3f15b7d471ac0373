"""Rebuild aggregates from an export file alone and compare each with the live store."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from audit.export import stored_event
from domain.ledger import InventoryLedger


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
) -> tuple[dict[UUID, Aggregate], set[UUID], int]:
    """Aggregates from the file's lines; those whose history in the file does not start at
    their creation (a time window, a resumed tail) are set aside as incomplete."""
    rebuilt: dict[UUID, Aggregate] = {}
    incomplete: set[UUID] = set()
    count = 0
    for raw in lines:
        if not raw.strip():
            continue
        event: Any = ledger.mapper.to_domain_event(stored_event(orjson.loads(raw)))
        count += 1
        if progress is not None:
            progress(len(raw))
        aggregate_id = event.originator_id
        if aggregate_id in incomplete:
            continue
        if aggregate_id not in rebuilt and event.originator_version != 1:
            incomplete.add(aggregate_id)
            continue
        rebuilt[aggregate_id] = event.mutate(rebuilt.get(aggregate_id))
    return rebuilt, incomplete, count


def compare_with_store(
    ledger: InventoryLedger,
    lines: Iterable[bytes],
    progress: Callable[[int], None] | None = None,
) -> ReplayComparison:
    rebuilt, incomplete, count = rebuild(ledger, lines, progress)
    result = ReplayComparison(events=count, incomplete=sorted(str(i) for i in incomplete))
    for aggregate_id, aggregate in rebuilt.items():
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
