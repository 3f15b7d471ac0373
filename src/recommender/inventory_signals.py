"""Products and sales as the inventory ledger's event log records them. A sale or return names
its customer in its trace (`customer_id`); a sale of a reservation is the reservation's
customer's. Read from a position, so a later run continues where the last one stopped."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

from domain.catalog import Product, Sku
from domain.promotions import Promotion
from domain.stock import Stock
from recommender.signals import PURCHASE, RETURN, Interaction, ProductFacts, SkuPrice

PAGE = 1000
TOPICS = [
    "domain.catalog:Product.Defined",
    "domain.catalog:Product.Changed",
    "domain.catalog:Product.Discontinued",
    "domain.catalog:Product.PromotionScheduled",
    "domain.catalog:Product.PromotionWithdrawn",
    "domain.catalog:Sku.Defined",
    "domain.catalog:Sku.Repriced",
    "domain.stock:Stock.Opened",
    "domain.stock:Stock.Reserved",
    "domain.stock:Stock.Sold",
    "domain.stock:Stock.Returned",
]


@dataclass
class InventoryFold:
    """Resumable: what later events need from earlier ones (shelves, reservations) is kept."""

    products: dict[str, dict[str, Any]] = field(default_factory=dict)
    product_of: dict[str, str] = field(default_factory=dict)  # product aggregate id -> code
    sku_products: dict[str, str] = field(default_factory=dict)
    shelves: dict[str, tuple[str, str]] = field(default_factory=dict)  # stock id -> sku, location
    reservations: dict[str, str] = field(default_factory=dict)  # reservation id -> customer
    interactions: list[Interaction] = field(default_factory=list)
    position: int = 0
    sku_prices: dict[str, list[str]] = field(default_factory=dict)  # sku -> price, currency, size
    sku_of: dict[str, str] = field(default_factory=dict)  # SKU aggregate id -> sku

    def take(self, event: Any) -> None:
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event)

    def product_facts(self) -> dict[str, ProductFacts]:
        return {code: _facts(code, d) for code, d in self.products.items()}

    def prices(self) -> dict[str, SkuPrice]:
        return {sku: SkuPrice(*found) for sku, found in self.sku_prices.items()}


def _defined(fold: InventoryFold, e: Product.Defined) -> None:
    fold.products[e.product_code] = {**e.details, "skus": [], "discontinued": False}
    fold.product_of[str(e.originator_id)] = e.product_code


def _changed(fold: InventoryFold, e: Product.Changed) -> None:
    code = fold.product_of.get(str(e.originator_id))
    if code is not None:
        fold.products[code] = {**fold.products[code], **e.changes}


def _discontinued(fold: InventoryFold, e: Product.Discontinued) -> None:
    code = fold.product_of.get(str(e.originator_id))
    if code is not None:
        fold.products[code]["discontinued"] = True


def _promotion_scheduled(fold: InventoryFold, e: Product.PromotionScheduled) -> None:
    """Kept as JSON values: the fold is saved with each model (`log_state.json`)."""
    code = fold.product_of.get(str(e.originator_id))
    if code is not None:
        scheduled = dict(fold.products[code].get("promotions") or {})
        scheduled[e.promotion_id] = {
            "promotion_id": e.promotion_id,
            "discount_percent": e.discount_percent,
            "starts": e.starts.isoformat(),
            "ends": e.ends.isoformat(),
            "channels": list(e.channels),
        }
        fold.products[code]["promotions"] = scheduled


def _promotion_withdrawn(fold: InventoryFold, e: Product.PromotionWithdrawn) -> None:
    code = fold.product_of.get(str(e.originator_id))
    if code is not None:
        scheduled = dict(fold.products[code].get("promotions") or {})
        scheduled.pop(e.promotion_id, None)
        fold.products[code]["promotions"] = scheduled


def _sku(fold: InventoryFold, e: Sku.Defined) -> None:
    fold.sku_products[e.sku] = e.product_code
    if e.product_code in fold.products:
        fold.products[e.product_code]["skus"].append(e.sku)
    fold.sku_of[str(e.originator_id)] = e.sku
    size = str((e.attributes or {}).get("size") or "")
    fold.sku_prices[e.sku] = [str(e.price), str(e.currency), size]


def _repriced(fold: InventoryFold, e: Sku.Repriced) -> None:
    sku = fold.sku_of.get(str(e.originator_id))
    if sku is not None and sku in fold.sku_prices:
        fold.sku_prices[sku] = [str(e.price), str(e.currency), fold.sku_prices[sku][2]]


def _opened(fold: InventoryFold, e: Stock.Opened) -> None:
    fold.shelves[str(e.originator_id)] = (e.sku, e.location)


def _reserved(fold: InventoryFold, e: Stock.Reserved) -> None:
    if e.trace.customer_id:
        fold.reservations[str(e.reservation_id)] = e.trace.customer_id


def _sold(fold: InventoryFold, e: Stock.Sold) -> None:
    customer = e.trace.customer_id or fold.reservations.get(str(e.reservation_id))
    units = sum(e.allocations.values())
    _record(fold, e, customer, PURCHASE, units)


def _returned(fold: InventoryFold, e: Stock.Returned) -> None:
    _record(fold, e, e.trace.customer_id, RETURN, e.quantity)


def _record(fold: InventoryFold, e: Any, customer: str | None, kind: str, units: int) -> None:
    shelf = fold.shelves.get(str(e.originator_id))
    if customer is None or shelf is None or shelf[0] not in fold.sku_products:
        return
    sku, location = shelf
    at = e.trace.occurred_at
    code = fold.sku_products[sku]
    fold.interactions.append(Interaction(customer, code, kind, at, float(units), location))


_HANDLERS: dict[type, Any] = {
    Product.Defined: _defined,
    Product.Changed: _changed,
    Product.Discontinued: _discontinued,
    Product.PromotionScheduled: _promotion_scheduled,
    Product.PromotionWithdrawn: _promotion_withdrawn,
    Sku.Defined: _sku,
    Sku.Repriced: _repriced,
    Stock.Opened: _opened,
    Stock.Reserved: _reserved,
    Stock.Sold: _sold,
    Stock.Returned: _returned,
}


def _facts(code: str, details: dict[str, Any]) -> ProductFacts:
    return ProductFacts(
        code,
        str(details.get("category") or ""),
        tuple(details.get("inci") or ()),
        tuple(details.get("skin_types") or ()),
        tuple(details.get("skus") or ()),
        str(details.get("name") or ""),
        str(details.get("brand") or ""),
        bool(details.get("discontinued")),
        promotions_of(details.get("promotions") or {}),
    )


def promotions_of(raw: dict[str, Any] | list[Any]) -> tuple[Promotion, ...]:
    """Promotions from their JSON form (the fold's, or the published catalog's), by start."""
    items = raw.values() if isinstance(raw, dict) else raw
    found = [
        Promotion(
            str(p["promotion_id"]),
            int(p["discount_percent"]),
            _instant(p["starts"]),
            _instant(p["ends"]),
            tuple(p.get("channels") or ()),
        )
        for p in items
    ]
    return tuple(sorted(found, key=lambda p: (p.starts, p.promotion_id)))


def _instant(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def read_inventory(ledger: Application[UUID], fold: InventoryFold | None = None) -> InventoryFold:
    """Continue `fold` (or start afresh) with the log after its position. New interactions
    only are left in `fold.interactions`."""
    fold = replace(fold, interactions=[]) if fold else InventoryFold()
    for position, event in inventory_events(ledger, fold.position + 1):
        fold.take(event)
        fold.position = position
    return fold


def inventory_events(ledger: Application[UUID], start: int) -> Iterator[tuple[int, Any]]:
    """The recommender's topics of the inventory log from `start`, with their positions."""
    while True:
        page = ledger.recorder.select_notifications(start, PAGE, topics=TOPICS)
        for notification in page:
            yield notification.id, ledger.mapper.to_domain_event(notification)
        if len(page) < PAGE:
            return
        start = page[-1].id + 1
