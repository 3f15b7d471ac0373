"""A tiny cosmetics shop to test against: builders for traces and commands, in business words."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

from memory_uow import MemoryUnitOfWork

from domain import commands as c
from domain.ids import stock_id
from domain.ledger import InventoryLedger
from domain.stock import Stock
from domain.trace import Trace

NOW = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
TODAY = NOW.date()
SOON = date(2025, 6, 1)
LATER = date(2025, 12, 1)
LATEST = date(2026, 6, 1)
YESTERDAY = TODAY - timedelta(days=1)

RED = "LIP-RED"
NUDE = "LIP-NUDE"
WAREHOUSE = "WH1"
STORE = "ST1"


def trace(at: datetime = NOW, **extra: str) -> Trace:
    return Trace(channel="test", principal="tester", occurred_at=at, **extra)


def lipstick(code: str = "LIP", skus: tuple[str, ...] = (RED, NUDE)) -> c.DefineProduct:
    variants = tuple(
        c.VariantSpec(sku, {"shade": sku.split("-")[-1].lower()}, Decimal("12.50"), "EUR")
        for sku in skus
    )
    return c.DefineProduct(code, {"name": "Velvet lipstick"}, variants, trace())


def location(code: str) -> c.RegisterLocation:
    return c.RegisterLocation(code, f"Place {code}", "warehouse", 52.37, 4.89, trace())


def open_shop() -> MemoryUnitOfWork:
    """A catalog with two lipstick shades and two locations, no stock yet."""
    uow = MemoryUnitOfWork()
    uow.run(lipstick())
    uow.run(location(WAREHOUSE))
    uow.run(location(STORE))
    return uow


def receive(
    sku: str = RED,
    batch: str = "B1",
    expiry: date = LATER,
    quantity: int = 10,
    where: str = WAREHOUSE,
    shipment_ref: str | None = None,
    at: datetime = NOW,
) -> c.ReceiveBatch:
    return c.ReceiveBatch(sku, where, batch, expiry, quantity, shipment_ref, trace(at))


def line(quantity: int, sku: str = RED, where: str = WAREHOUSE, batch: str | None = None):
    return c.StockLine(sku, where, quantity, batch)


def reserve(
    *lines: c.StockLine,
    reservation_id: UUID | None = None,
    expires_at: datetime = NOW + timedelta(minutes=30),
    at: datetime = NOW,
) -> c.PlaceReservation:
    return c.PlaceReservation(reservation_id or uuid4(), lines, expires_at, trace(at))


def confirm(reservation_id: UUID, now: datetime = NOW) -> c.ConfirmReservation:
    return c.ConfirmReservation(reservation_id, now, trace())


def release(reservation_id: UUID) -> c.ReleaseReservation:
    return c.ReleaseReservation(reservation_id, trace())


def expire(reservation_id: UUID, now: datetime) -> c.ExpireReservation:
    return c.ExpireReservation(reservation_id, now, trace())


def sell(*lines: c.StockLine, at: datetime = NOW) -> c.SellDirect:
    return c.SellDirect(uuid4(), lines, trace(at))


def stock(uow: MemoryUnitOfWork, sku: str = RED, where: str = WAREHOUSE) -> Stock:
    found = uow.get(stock_id(sku, where))
    assert isinstance(found, Stock)
    return found


def counts(
    uow: MemoryUnitOfWork, sku: str = RED, where: str = WAREHOUSE
) -> dict[str, tuple[int, int]]:
    """Per batch: (on hand, reserved)."""
    return {n: (b.on_hand, b.reserved) for n, b in stock(uow, sku, where).batches.items()}


@contextmanager
def memory_ledger() -> Iterator[InventoryLedger]:
    """The real ledger application (its mapper and transcodings) on an in-memory SQLite."""
    ledger = InventoryLedger(
        env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": ":memory:"}
    )
    try:
        yield ledger
    finally:
        ledger.close()
