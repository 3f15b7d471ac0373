"""An order, its pick list, quotes and channel availability answered from the aggregates in the
event store: strongly consistent, and outside the writer (a quote holds nothing and records
nothing). Orders are listed from the order read model (service_layer/order_history.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from domain.errors import UnknownOrderError, UnknownSkuError
from domain.ledger import InventoryLedger
from domain.order import Order
from domain.order_sourcing import channel_availability, plan, viewed
from domain.sourcing import Delivery
from projections.channel_availability import unknown_skus


@dataclass(frozen=True)
class LedgerViewer:
    """The ledger's aggregates, read as sourcing reads them in the writer."""

    ledger: InventoryLedger

    def view(self, aggregate_id: UUID) -> Aggregate | None:
        try:
            found: Aggregate = self.ledger.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return found


def order(ledger: InventoryLedger, order_id: UUID) -> dict[str, Any]:
    return _order(ledger, order_id).as_dict()


def _order(ledger: InventoryLedger, order_id: UUID) -> Order:
    found = viewed(LedgerViewer(ledger), order_id, Order)
    if found is None:
        raise UnknownOrderError(f"no order {order_id}", order_id=str(order_id))
    return found


def pick_list(ledger: InventoryLedger, order_id: UUID, fulfilment_id: str) -> dict[str, Any]:
    """What to take off the shelves for one fulfilment order: per SKU, the batches and units."""
    found = _order(ledger, order_id)
    fulfilment = found.fulfilment(fulfilment_id)
    items: dict[str, dict[str, int]] = {}
    for item in fulfilment.lines:
        batches = items.setdefault(item["sku"], {})
        for number, units in item["batches"].items():
            batches[number] = batches.get(number, 0) + units
    return {
        "order_id": str(found.id),
        "fulfilment_id": fulfilment_id,
        "location": fulfilment.location,
        "method": fulfilment.method,
        "status": fulfilment.status,
        "channel": found.channel,
        "items": [
            {"sku": sku, "quantity": sum(batches.values()), "batches": batches}
            for sku, batches in sorted(items.items())
        ],
    }


def quote(
    ledger: InventoryLedger,
    channel: str,
    lines: Sequence[tuple[str, int]],
    delivery: Delivery,
    today: date,
) -> dict[str, Any]:
    """The sourcing decision placing these lines would take now, lines numbered L1, L2, ...;
    nothing is held or recorded."""
    numbered = [(f"L{n}", sku, quantity) for n, (sku, quantity) in enumerate(lines, 1)]
    decided = plan(LedgerViewer(ledger), numbered, delivery, channel, today)
    return decided.as_dict()


def available_to_sell(
    ledger: InventoryLedger, channel: str, sku: str, today: date
) -> dict[str, Any]:
    units = channel_availability(LedgerViewer(ledger), channel, sku, today)
    return {"channel": channel, "sku": sku, "available_to_sell": units}


def available_to_sell_of_skus(
    ledger: InventoryLedger, channel: str, skus: Sequence[str], today: date
) -> dict[str, int]:
    """SKU -> units (or whole kits) the channel may sell now; refuses naming every SKU the
    catalog lacks."""
    viewer = LedgerViewer(ledger)
    found: dict[str, int] = {}
    unknown: list[str] = []
    for sku in skus:
        try:
            found[sku] = channel_availability(viewer, channel, sku, today)
        except UnknownSkuError:
            unknown.append(sku)
    if unknown:
        raise unknown_skus(unknown)
    return found
