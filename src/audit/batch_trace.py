"""Everything one batch of a SKU went through, at every location, for a recall: received,
reserved, sold (to which orders, on which channels), returned, moved, quarantined, recalled.

Customers are not recorded by the ledger yet, so a recall lists the orders (source
references) and channels to notify through; naming customers comes with the customer ledger.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from audit.errors import UnknownAggregateError
from audit.history import recorded_events
from audit.rendering import event_type
from domain.ids import location_directory_id, stock_id
from domain.ledger import InventoryLedger
from domain.location import LocationDirectory
from domain.trace import Trace

CUSTOMER_NOTICE = (
    "customers are not recorded by the ledger yet: notify them through the orders "
    "(source_ref) and channels listed"
)


@dataclass
class BatchTrace:
    sku: str
    batch: str
    movements: list[dict[str, Any]] = field(default_factory=list)
    sales: list[dict[str, Any]] = field(default_factory=list)
    holds: dict[str, str] = field(default_factory=dict)  # reservation hex -> location

    def as_dict(self) -> dict[str, Any]:
        movements = sorted(self.movements, key=lambda m: m["recorded_at"])
        sales = sorted(self.sales, key=lambda s: s["recorded_at"])
        return {
            "sku": self.sku,
            "batch": self.batch,
            "totals": _totals(movements),
            "sales": sales,
            "movements": movements,
            "customers": CUSTOMER_NOTICE,
        }


def trace_batch(ledger: InventoryLedger, sku: str, batch: str) -> dict[str, Any]:
    found = BatchTrace(sku, batch)
    placed: dict[UUID, Any] = {}
    for code in _location_codes(ledger):
        events: list[Any] = list(recorded_events(ledger, stock_id(sku, code)))
        for event in events:
            quantity = _quantity_of_batch(event, batch, found.holds)
            if quantity is None:
                continue
            found.movements.append(_movement(event, code, quantity))
            if event_type(event) == "Stock.Sold":
                found.sales.append(_sale(ledger, event, code, quantity, placed))
            if event_type(event) == "Stock.Reserved":
                found.holds[event.reservation_id.hex] = code
    if not found.movements:
        raise UnknownAggregateError(f"batch {batch!r} of SKU {sku!r} was never held anywhere")
    return found.as_dict()


def _location_codes(ledger: InventoryLedger) -> list[str]:
    if next(iter(ledger.events.get(location_directory_id(), limit=1)), None) is None:
        return []
    directory: Any = ledger.repository.get(location_directory_id())
    return list(directory.codes) if isinstance(directory, LocationDirectory) else []


def _quantity_of_batch(event: Any, batch: str, holds: dict[str, str]) -> int | None:
    """How many units of the batch the event moved (0 for a status change), None if unrelated."""
    kind = event_type(event)
    if kind in ("Stock.Reserved", "Stock.Sold", "Stock.TransferredOut"):
        quantity: int | None = event.allocations.get(batch)
        return quantity
    if kind == "Stock.TransferredIn":
        line = event.batches_in.get(batch)
        return None if line is None else int(line["quantity"])
    if kind in ("Stock.ReservationReleased", "Stock.ReservationExpired"):
        return 0 if event.reservation_id.hex in holds else None
    if getattr(event, "batch", None) != batch:
        return None
    if kind == "Stock.BatchReceived" or kind == "Stock.Returned":
        return int(event.quantity)
    if kind == "Stock.Adjusted":
        return int(event.delta)
    return 0


def _movement(event: Any, location: str, quantity: int) -> dict[str, Any]:
    trace: Trace = event.trace
    reservation_id = getattr(event, "reservation_id", None)
    return {
        "type": event_type(event),
        "location": location,
        "quantity": quantity,
        "recorded_at": event.timestamp.isoformat(),
        "occurred_at": trace.occurred_at.isoformat(),
        "channel": trace.channel,
        "principal": trace.principal,
        "source_ref": trace.source_ref,
        "reason": trace.reason,
        "reservation_id": str(reservation_id) if reservation_id else None,
        "restocked": getattr(event, "restocked", None),
    }


def _sale(
    ledger: InventoryLedger, event: Any, location: str, quantity: int, placed: dict[UUID, Any]
) -> dict[str, Any]:
    trace: Trace = event.trace
    sale = {
        "location": location,
        "quantity": quantity,
        "unit_price": str(event.unit_price),
        "currency": event.currency,
        "recorded_at": event.timestamp.isoformat(),
        "occurred_at": trace.occurred_at.isoformat(),
        "channel": trace.channel,
        "principal": trace.principal,
        "order": trace.source_ref,
        "reservation_id": None,
        "reserved_on_channel": None,
    }
    if event.reservation_id is not None:
        rid: UUID = event.reservation_id
        if rid not in placed:
            placed[rid] = next(recorded_events(ledger, rid, lte=1), None)
        reservation = placed[rid]
        sale["reservation_id"] = str(rid)
        if reservation is not None:
            sale["reserved_on_channel"] = reservation.trace.channel
            sale["order"] = reservation.trace.source_ref or trace.source_ref
    return sale


def _totals(movements: list[dict[str, Any]]) -> dict[str, int]:
    totals = dict.fromkeys(("received", "sold", "returned", "transferred_in", "adjusted"), 0)
    names = {
        "Stock.BatchReceived": "received",
        "Stock.Sold": "sold",
        "Stock.Returned": "returned",
        "Stock.TransferredIn": "transferred_in",
        "Stock.Adjusted": "adjusted",
    }
    for movement in movements:
        name = names.get(movement["type"])
        if name:
            totals[name] += movement["quantity"]
    return totals
