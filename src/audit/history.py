"""The full, ordered history of one aggregate, with who asked for each change and why."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

from audit.errors import UnknownAggregateError
from audit.rendering import describe_event
from domain.ledger import InventoryLedger


def recorded_events(ledger: InventoryLedger, aggregate_id: UUID) -> Iterator[Any]:
    """The aggregate's events in version order, decoded from the store (never a snapshot)."""
    return iter(ledger.events.get(aggregate_id))


def history(ledger: InventoryLedger, aggregate_id: UUID) -> list[dict[str, Any]]:
    entries = [describe_event(event) for event in recorded_events(ledger, aggregate_id)]
    if not entries:
        raise UnknownAggregateError(f"no event was ever recorded for aggregate {aggregate_id}")
    return entries
