"""The full, ordered history of one aggregate, with who asked for each change and why."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

from audit.errors import UnknownAggregateError
from audit.event_decoding import reading_mapper
from audit.rendering import describe_event
from domain.ledger import InventoryLedger


def recorded_events(
    ledger: InventoryLedger, aggregate_id: UUID, lte: int | None = None
) -> Iterator[Any]:
    """The aggregate's events in version order, decoded from the store (never a snapshot)."""
    to_domain_event = reading_mapper(ledger).to_domain_event
    return map(to_domain_event, ledger.recorder.select_events(aggregate_id, lte=lte))


def history(ledger: InventoryLedger, aggregate_id: UUID) -> list[dict[str, Any]]:
    entries = [describe_event(event) for event in recorded_events(ledger, aggregate_id)]
    if not entries:
        raise UnknownAggregateError(f"no event was ever recorded for aggregate {aggregate_id}")
    return entries
