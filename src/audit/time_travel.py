"""The state of an aggregate as of an instant, by replaying its events up to it.

Two bases, named in every answer:
- `recorded` (the default): the events the ledger had recorded at that instant, in order; exactly
  what anyone asking at that instant would have been told.
- `occurred`: the events whose trace says they happened by that instant (a till that was offline
  reports late), applied in recorded order: what we know now about the world at that instant.
  Events with no trace (an aggregate being opened) count by their recorded time.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from audit.bulk_reading import collector_paused
from audit.errors import InvalidAuditQueryError, NotYetExistingError, UnknownAggregateError
from audit.history import recorded_events
from domain.ids import location_directory_id, stock_id
from domain.ledger import InventoryLedger
from domain.location import LocationDirectory
from domain.trace import Trace

RECORDED = "recorded"
OCCURRED = "occurred"
BASES = (RECORDED, OCCURRED)


def parse_instant(raw: str) -> datetime:
    try:
        instant = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidAuditQueryError(
            f"{raw!r} is not an ISO 8601 instant such as 2026-01-31T12:00:00+00:00"
        ) from None
    if instant.tzinfo is None:
        raise InvalidAuditQueryError(f"instant {raw!r} has no timezone; add Z or +00:00")
    return instant


def event_instant(event: Any, basis: str) -> datetime:
    trace = getattr(event, "trace", None)
    if basis == OCCURRED and isinstance(trace, Trace):
        return trace.occurred_at
    timestamp: datetime = event.timestamp
    return timestamp


def replay(events: Iterable[Any]) -> Aggregate | None:
    """Fold events into an aggregate with the library's own checks (ids, consecutive versions)."""
    aggregate: Aggregate | None = None
    with collector_paused():
        for event in events:
            aggregate = event.mutate(aggregate)
    return aggregate


def replay_selected(events: Iterable[Any]) -> Aggregate | None:
    """Fold a selection of an aggregate's events: versions may skip the events left out."""
    aggregate: Aggregate | None = None
    for event in events:
        if aggregate is None:
            aggregate = event.mutate(None)
            continue
        event.apply(aggregate)
        aggregate.version = event.originator_version
        aggregate.modified_on = event.timestamp
    return aggregate


def state_as_of(
    ledger: InventoryLedger, aggregate_id: UUID, instant: datetime, basis: str = RECORDED
) -> Aggregate:
    if basis not in BASES:
        raise InvalidAuditQueryError(f"basis must be one of {', '.join(BASES)}, got {basis!r}")
    events = list(recorded_events(ledger, aggregate_id))
    if not events:
        raise UnknownAggregateError(f"no event was ever recorded for aggregate {aggregate_id}")
    if basis == RECORDED:
        aggregate = replay(_until(events, instant))
    else:
        aggregate = _replay_occurred(events, instant)
    if aggregate is None:
        raise NotYetExistingError(
            f"aggregate {aggregate_id} did not exist yet at {instant.isoformat()} "
            f"(by {basis} time); its first event was recorded at "
            f"{events[0].timestamp.isoformat()}"
        )
    return aggregate


def state_at_version(ledger: InventoryLedger, aggregate_id: UUID, version: int) -> Aggregate | None:
    return replay(recorded_events(ledger, aggregate_id, lte=version))


def stock_as_of(
    ledger: InventoryLedger, sku: str, instant: datetime, basis: str = RECORDED
) -> dict[str, Any]:
    """Stock of a SKU at every location that held it at the instant, with the totals."""
    directory: Any = ledger.repository.get(location_directory_id()) if _exists(ledger) else None
    codes: list[str] = directory.codes if isinstance(directory, LocationDirectory) else []
    locations = []
    for code in codes:
        try:
            stock = state_as_of(ledger, stock_id(sku, code), instant, basis)
        except UnknownAggregateError:
            continue
        locations.append(stock.summary(instant.date()))  # type: ignore[attr-defined]
    quantities = ("on_hand", "reserved", "available", "quarantined", "recalled", "expired")
    return {
        "sku": sku,
        "as_of": instant.isoformat(),
        "basis": basis,
        **{q: sum(loc[q] for loc in locations) for q in quantities},
        "locations": locations,
    }


def _until(events: list[Any], instant: datetime) -> Iterable[Any]:
    for event in events:
        if event.timestamp > instant:
            return
        yield event


def _replay_occurred(events: list[Any], instant: datetime) -> Aggregate | None:
    chosen = [e for e in events if event_instant(e, OCCURRED) <= instant]
    if chosen and chosen[0].originator_version != events[0].originator_version:
        chosen.insert(0, events[0])  # the aggregate was opened before anything happened to it
    try:
        return replay_selected(chosen)
    except (KeyError, ValueError) as error:
        raise InvalidAuditQueryError(
            f"the events that occurred by {instant.isoformat()} do not form a consistent "
            f"history on their own ({type(error).__name__}: {error}); ask by recorded time"
        ) from None


def _exists(ledger: InventoryLedger) -> bool:
    return next(iter(ledger.events.get(location_directory_id(), limit=1)), None) is not None
