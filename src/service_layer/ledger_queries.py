"""Answers read straight from the aggregates in the event store: strongly consistent, they
count every command committed before the read (the read models answer from projections,
which may lag: projections/projected_stock.py)."""

from __future__ import annotations

from datetime import date
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from domain.catalog import Product, Sku
from domain.errors import (
    UnknownLocationError,
    UnknownPreorderError,
    UnknownProductError,
    UnknownReservationError,
    UnknownSkuError,
)
from domain.ids import location_directory_id, location_id, product_id, sku_id, stock_id
from domain.ledger import InventoryLedger
from domain.location import Location, LocationDirectory
from domain.preorders import Preorder
from domain.reservation import Reservation
from domain.stock import Stock
from projections.availability import QUANTITIES

A = TypeVar("A", bound=Aggregate)


def get_aggregate(ledger: InventoryLedger, aggregate_id: UUID, kind: type[A]) -> A | None:
    """The aggregate of that id if it is one of `kind`, else None."""
    try:
        found: Aggregate = ledger.repository.get(aggregate_id)
    except AggregateNotFoundError:
        return None
    return found if isinstance(found, kind) else None


def stock_at_location(
    ledger: InventoryLedger, sku: str, location: str, today: date
) -> dict[str, Any]:
    require_sku(ledger, sku)
    require_location(ledger, location)
    stock = get_aggregate(ledger, stock_id(sku, location), Stock)
    if stock is None:
        return {
            "sku": sku,
            "location": location,
            **dict.fromkeys(QUANTITIES, 0),
            "next_expiry": None,
            "batches": [],
            "version": 0,
        }
    return stock.summary(today)


def stock_across_locations(ledger: InventoryLedger, sku: str, today: date) -> dict[str, Any]:
    require_sku(ledger, sku)
    directory = get_aggregate(ledger, location_directory_id(), LocationDirectory)
    locations = []
    for code in directory.codes if directory else []:
        stock = get_aggregate(ledger, stock_id(sku, code), Stock)
        if stock is not None:
            locations.append(stock.summary(today))
    totals = {q: sum(loc[q] for loc in locations) for q in QUANTITIES}
    return {"sku": sku, **totals, "locations": locations}


def reservation(ledger: InventoryLedger, reservation_id: UUID) -> dict[str, Any]:
    found = get_aggregate(ledger, reservation_id, Reservation)
    if found is None:
        raise UnknownReservationError(
            f"no reservation {reservation_id}", reservation_id=str(reservation_id)
        )
    return found.as_dict()


def product(ledger: InventoryLedger, product_code: str) -> dict[str, Any]:
    found = get_aggregate(ledger, product_id(product_code), Product)
    if found is None:
        raise UnknownProductError(
            f"no product with code {product_code!r}", product_code=product_code
        )
    skus = [get_aggregate(ledger, sku_id(code), Sku) for code in found.skus]
    return {
        "product_code": found.product_code,
        **found.details,
        "discontinued": found.discontinued,
        "variants": [
            {
                "sku": s.sku,
                "attributes": s.attributes,
                "price": str(s.price),
                "currency": s.currency,
                "discontinued": s.discontinued,
            }
            for s in skus
            if s is not None
        ],
        "version": found.version,
    }


def locations(ledger: InventoryLedger) -> list[dict[str, Any]]:
    directory = get_aggregate(ledger, location_directory_id(), LocationDirectory)
    found = [
        get_aggregate(ledger, location_id(code), Location)
        for code in (directory.codes if directory else [])
    ]
    return [
        {
            "code": loc.code,
            "name": loc.name,
            "kind": loc.kind,
            "latitude": loc.latitude,
            "longitude": loc.longitude,
        }
        for loc in found
        if loc is not None
    ]


def require_sku(ledger: InventoryLedger, sku: str) -> None:
    if get_aggregate(ledger, sku_id(sku), Sku) is None:
        raise UnknownSkuError(f"no SKU {sku!r} in the catalog", sku=sku)


def require_location(ledger: InventoryLedger, location: str) -> None:
    if get_aggregate(ledger, location_id(location), Location) is None:
        raise UnknownLocationError(
            f"no location {location!r} is registered; GET /locations lists them",
            location=location,
        )


def preorder(ledger: InventoryLedger, preorder_id: UUID) -> dict[str, Any]:
    found = get_aggregate(ledger, preorder_id, Preorder)
    if found is None:
        raise UnknownPreorderError(f"no pre-order {preorder_id}", preorder_id=str(preorder_id))
    return found.as_dict()
