"""Everything one batch of a SKU went through, at every location, for a recall: received,
reserved, sold (to which orders, on which channels), returned, moved, quarantined, recalled.

Sales that named a customer (`customer_id` in the sale's or the reservation's trace) list the
customers to notify, through a resolver the caller passes in (the customer ledger): forgotten
customers are reported as such and carry nothing that could identify them, and no contact
detail is included here (the notifier reads those through the customer routes, which log it).
"""

from __future__ import annotations

from collections.abc import Callable
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

CustomerLookup = Callable[[str], dict[str, Any]]


@dataclass
class BatchTrace:
    sku: str
    batch: str
    movements: list[dict[str, Any]] = field(default_factory=list)
    sales: list[dict[str, Any]] = field(default_factory=list)
    holds: dict[str, str] = field(default_factory=dict)  # reservation hex -> location

    def as_dict(self, lookup: CustomerLookup | None) -> dict[str, Any]:
        movements = sorted(self.movements, key=lambda m: m["recorded_at"])
        sales = sorted(self.sales, key=lambda s: s["recorded_at"])
        return {
            "sku": self.sku,
            "batch": self.batch,
            "totals": _totals(movements),
            "sales": sales,
            "movements": movements,
            "customers_to_notify": _customers(sales, lookup),
        }


def _customers(sales: list[dict[str, Any]], lookup: CustomerLookup | None) -> list[dict[str, Any]]:
    named = sorted({sale["customer_id"] for sale in sales if sale["customer_id"]})
    if lookup is None:
        return [{"customer_id": customer_id} for customer_id in named]
    return [{"customer_id": customer_id, **lookup(customer_id)} for customer_id in named]


def trace_batch(
    ledger: InventoryLedger, sku: str, batch: str, customers: CustomerLookup | None = None
) -> dict[str, Any]:
    """`customers` tells, for a customer id, whether and how the customer can be notified."""
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
    return found.as_dict(customers)


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
        "customer_id": trace.customer_id,
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
            sale["customer_id"] = trace.customer_id or reservation.trace.customer_id
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
