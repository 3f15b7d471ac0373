"""A day in the shop that emits every kind of event at least once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import uuid4

from memory_uow import MemoryUnitOfWork
from shop import (
    LATEST,
    NOW,
    RED,
    SOON,
    STORE,
    WAREHOUSE,
    YESTERDAY,
    confirm,
    expire,
    line,
    open_shop,
    receive,
    release,
    reserve,
    sell,
    trace,
)

from domain import commands as c
from domain.sourcing import ShipTo

PARIS = timezone(timedelta(hours=2))


def busy_day() -> MemoryUnitOfWork:
    """A day in the shop that emits every kind of event at least once."""
    uow = open_shop()
    uow.run(c.ChangeProduct("LIP", {"inci": ["ricinus communis seed oil"]}, trace()))
    uow.run(c.AddVariant("LIP", c.VariantSpec("LIP-PLUM", {}, Decimal("13"), "EUR"), trace()))
    uow.run(c.RepriceSku(RED, Decimal("11.99"), "EUR", trace()))
    uow.run(c.ExpectShipment(RED, WAREHOUSE, "PO-1", 20, SOON, trace()))
    uow.run(receive(batch="EARLY", expiry=SOON, quantity=12, shipment_ref="PO-1"))
    uow.run(receive(batch="LATE", expiry=LATEST, quantity=8))
    uow.run(receive(batch="OLD", expiry=YESTERDAY, quantity=2))
    for end in (confirm, release, lambda rid: expire(rid, NOW + timedelta(hours=1))):
        placed = reserve(line(2), line(1, where=WAREHOUSE))
        uow.run(placed)
        uow.run(end(placed.reservation_id))
    uow.run(sell(line(1)))
    uow.run(c.AcceptReturn(RED, WAREHOUSE, "EARLY", None, 1, True, trace()))
    uow.run(c.AcceptReturn(RED, WAREHOUSE, "GONE", SOON, 1, False, trace(reason="found"), True))
    uow.run(c.AdjustStock(RED, WAREHOUSE, "LATE", -1, None, trace()))
    uow.run(c.TransferStock(uuid4(), RED, WAREHOUSE, STORE, 3, trace()))
    checkout_and_preorders(uow.run)
    uow.run(c.QuarantineBatch(RED, WAREHOUSE, "LATE", trace()))
    uow.run(c.LiftQuarantine(RED, WAREHOUSE, "LATE", trace()))
    uow.run(c.RecallBatch(RED, "EARLY", trace()))
    uow.run(c.DiscontinueProduct("LIP", trace()))
    return uow


def checkout_and_preorders(run: Callable[[c.Command], object]) -> None:
    """Holds that fit checkout, a transfer in transit, pre-orders on shipments (on a shop
    holding at least 3 units of RED at the warehouse, 2 of them in batch EARLY)."""
    cart = reserve(line(1))
    run(cart)
    run(c.ExtendReservation(cart.reservation_id, timedelta(minutes=5), NOW, trace()))
    home = ShipTo(48.85, 2.30)
    run(c.ConvertReservationToOrder(cart.reservation_id, uuid4(), home, NOW, trace()))
    sent = uuid4()
    run(c.TransferStock(sent, RED, WAREHOUSE, STORE, 2, trace(), in_transit=True))
    run(c.ReceiveTransfer(sent, RED, STORE, {"EARLY": 1}, trace()))
    run(c.SwitchPreorders(RED, "test", True, trace()))
    run(c.ExpectShipment(RED, WAREHOUSE, "PO-2", 6, SOON, trace()))
    kept, withdrawn, given_back = (
        c.PlacePreorder(uuid4(), RED, WAREHOUSE, "PO-2", n, trace()) for n in (2, 1, 1)
    )
    for preorder in (kept, withdrawn, given_back):
        run(preorder)
    run(c.ReleasePreorder(withdrawn.preorder_id, trace()))
    run(c.DelayShipment(RED, WAREHOUSE, "PO-2", SOON + timedelta(days=7), trace()))
    run(receive(batch="PRE", expiry=LATEST, quantity=3, shipment_ref="PO-2"))
    run(c.ConfirmPreorder(kept.preorder_id, trace()))
    run(c.ReleasePreorder(given_back.preorder_id, trace()))
    run(c.ExpectShipment(RED, WAREHOUSE, "PO-3", 2, SOON, trace()))
    run(c.PlacePreorder(uuid4(), RED, WAREHOUSE, "PO-3", 2, trace()))
    run(c.CancelShipment(RED, WAREHOUSE, "PO-3", trace()))


def every_event_with_odd_values() -> list[Any]:
    """Every published event type, plus traces and times that are not the common case: an
    offset other than UTC, every optional trace field, an exponent in a price."""
    uow = busy_day()
    odd = trace(
        at=datetime(2025, 3, 1, 12, 0, 0, 250, tzinfo=PARIS),
        idempotency_key="k-1",
        source_ref="receipt-7",
        reason="café",
    )
    uow.run(receive(batch="B9", quantity=5))
    uow.run(c.RepriceSku(RED, Decimal("1.2E+1"), "EUR", odd))
    uow.run(c.AdjustStock(RED, WAREHOUSE, "B9", 1, None, odd))
    placed = reserve(line(1, batch="B9"))
    uow.run(placed)
    uow.run(sell(line(1)))
    uow.run(c.ReleaseReservation(placed.reservation_id, odd))
    return uow.all_events()
