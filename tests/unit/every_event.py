"""A day in the shop that emits every kind of event at least once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from memory_uow import MemoryUnitOfWork
from replenishment_shop import a_replenishment_day
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
from till_shop import a_till_reconciles, a_till_reconciles_orders

from domain import commands as c
from domain import order_commands as o
from domain.customer import Customer
from domain.errors import DomainError
from domain.results import Result
from domain.sourcing import Delivery, PickUpAt, ShipTo
from domain.trace import Trace
from domain.unmet_demand import Shortfall, UnmetDemand, unmet_demand

PICKUP = "ST-PICKUP"

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
    orders_day(uow)
    refused_demand(uow)
    a_till_reconciles(uow)
    a_till_reconciles_orders(uow)
    a_replenishment_day(uow)
    week = (NOW, NOW + timedelta(days=7))
    uow.run(c.SchedulePromotion("LIP", "PROMO-1", 20, *week, ("web",), trace()))
    uow.run(c.WithdrawPromotion("LIP", "PROMO-1", trace()))
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


def orders_day(uow: MemoryUnitOfWork) -> None:
    """Channel rules, a kit, and orders taking every transition (a partial cancel gives back
    part of a hold)."""
    uow.run(c.RegisterLocation(PICKUP, "Pickup shop", "store", 52.37, 4.9, trace()))
    uow.run(receive(batch="P1", quantity=5, where=PICKUP))
    sourcing = o.SourcingRules("priority", (WAREHOUSE,), True, True)
    uow.run(
        o.ChangeChannelRules(
            "test",
            trace(),
            sell_from=(WAREHOUSE, PICKUP),
            safety_buffers={"LIP-PLUM": 1},
            ring_fenced_pools={"LIP-PLUM": 1},
            min_shelf_life_days=1,
            sourcing=sourcing,
        )
    )
    uow.run(o.DefineKit("LIP-PLUM", {RED: 2}, trace()))
    uow.run(o.DefineKit("LIP-PLUM", {RED: 1}, trace()))
    home, pickup = ShipTo(52.0, 4.9), PickUpAt(PICKUP)
    shipped = order(uow, home, 3)
    act(uow, shipped, o.ReportPayment, "authorised", Decimal("37.50"))
    act(uow, shipped, o.ReportPayment, "captured", Decimal("37.50"))
    act(uow, shipped, o.EditOrderLines, (), (), {"L1": 2})
    act(uow, shipped, o.CancelOrderLines, {"L1": 1})
    for step in ("picking", "packed", "shipped", "delivered"):
        act(uow, shipped, o.ProgressFulfilment, "F2", step)
    act(uow, shipped, o.RequestReturn, {"L1": 1})
    act(uow, shipped, o.ReceiveReturn, "R1", WAREHOUSE, {"L1": 1}, {})
    act(uow, shipped, o.RefundReturn, "R1", Decimal("11.99"))
    for last in ("collected", "not-collected"):
        collected = order(uow, pickup, 1)
        for step in ("picking", "packed", "ready-for-pickup", last):
            act(uow, collected, o.ProgressFulfilment, "F1", step)
    act(uow, order(uow, home, 1), o.CancelOrder)
    act(uow, order(uow, home, 1), o.ReportPayment, "failed", None)


def refused_demand(uow: MemoryUnitOfWork) -> None:
    """A reservation and a click-and-collect order refused for lack of stock, their unmet
    demand recorded as the writer records it (in a unit of work of its own)."""
    too_many = (
        reserve(line(1_000)),
        o.PlaceOrder(
            uuid4(), (o.OrderedItem(RED, 1_000),), PickUpAt(PICKUP), trace(idempotency_key="k-9")
        ),
    )
    for command in too_many:
        try:
            uow.run(command)
        except DomainError as error:
            shortfalls = unmet_demand(command, error)
            assert shortfalls, f"{type(command).__name__} refused with {error.code}: no demand"
            uow.run(command, lambda _, u, found=shortfalls: _record(u, found))
        else:
            raise AssertionError(f"{type(command).__name__} of 1000 units was not refused")


def _record(uow: MemoryUnitOfWork, shortfalls: list[Shortfall]) -> Result:
    for shortfall in shortfalls:
        uow.add(UnmetDemand.record(shortfall))
    return Result({})


def order(uow: MemoryUnitOfWork, delivery: Delivery, quantity: int) -> UUID:
    customer = str(uuid4())  # Order.Placed's envelope names the customer's pseudonymous id
    lines = (o.OrderedItem(RED, quantity),)
    placed = o.PlaceOrder(uuid4(), lines, delivery, trace(customer_id=customer))
    uow.run(placed)
    return placed.order_id


def act(uow: MemoryUnitOfWork, order_id: UUID, command: Any, *args: Any) -> None:
    uow.run(command(order_id, *args, trace(), c.EVERYWHERE))


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
    # made in a sampled trace (both ids), and in one that was not sampled (its trace id alone)
    uow.run(c.SellDirect(uuid4(), (line(1),), trace().traced(TRACE_ID, SPAN_ID)))
    uow.run(c.SellDirect(uuid4(), (line(1),), odd.traced(TRACE_ID, None)))
    return [*uow.all_events(), *a_customer_life(odd)]


def a_customer_life(at: Trace) -> list[Any]:
    """Every event of the Customer aggregate (the customer log's published types), as the
    aggregate makes them: personal facts in `personal`, as before sealing."""
    customer = Customer.register(uuid4(), {"name": "Ada Lovelace", "email": "ada@example.com"}, at)
    other = Customer.register(uuid4(), {"name": "A. Lovelace"}, at)
    customer.change_contact({"phone": "+33612345678"}, at)
    customer.change_skin_profile({"skin_type": "dry"}, at)
    customer.change_preferences({"vegan": True}, at)
    customer.give_feedback(RED, 5, "lovely texture", at)
    customer.change_loyalty_tier("silver", at)
    customer.add_to_wishlist(RED, at)
    customer.remove_from_wishlist(RED, at)
    customer.grant_consent("analytics", "v1", at)
    customer.withdraw_consent("analytics", at)
    identity = uuid4()
    customer.link_identity(identity, "email", at, verification="id-document")
    customer.unlink_identity(identity, at)
    for event_class, fields in (
        (Customer.SurveyAnswered, {"survey_id": "S1", "question_id": "Q1", "answer_kind": "text"}),
        (
            Customer.SupportContactRecorded,
            {"contact_id": "C1", "contact_channel": "phone", "topic": "order", "outcome": "solved"},
        ),
    ):
        personal = {"text": "my skin itches"}
        extra = {"agent": "agent-7"} if event_class is Customer.SupportContactRecorded else {}
        customer.trigger_event(event_class, **fields, **extra, personal=personal, trace=at)
    customer.trigger_event(
        Customer.PointsEarned, points=120, reference="sale-1", expires_on=date(2026, 3, 1), trace=at
    )
    customer.trigger_event(Customer.PointsLost, points=20, reference="return-1", trace=at)
    customer.trigger_event(Customer.PointsRedeemed, points=50, reference="order-9", trace=at)
    customer.trigger_event(Customer.PointsExpired, points=10, expired_on=date(2026, 3, 1), trace=at)
    customer.absorb(other, at)
    customer.forget(at)
    return [*customer.collect_events(), *other.collect_events()]


TRACE_ID, SPAN_ID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
