"""The reconciliation steps on orders (domain/till_reconciliation.py tries them after the
carts): a late till sale took units an open fulfilment order held at the till's store.

Orders come after carts, the most recently placed first (the least committed). Only a
fulfilment order not yet started (`open`) is touched: one being picked or packed has the
goods in staff's hands, so a shortage names it. `resource` sources the units again with the
order's channel rules, the store left out (`Order.FulfilmentResourced`, the hold here
reduced, new holds there); it does not apply to a pickup (it is collected at this store)
or when no other location can serve. `cancel_hold` cancels as few whole items of the lines
concerned as free the units (`Order.LinesCancelledForShortage`, read with the order)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING, Any
from uuid import UUID

from domain.errors import OrderStateError
from domain.fulfilment_holds import FulfilmentHold, note_holds
from domain.ids import stock_id
from domain.order import OPEN, Order
from domain.order_sourcing import StockOnHand, channel_policy, every_place
from domain.sourcing import PICKUP, LineToSource, SourcingDecision, delivery_from_dict, source
from domain.stock import Stock
from domain.tills import CANCEL_HOLD, RESOURCE
from domain.unit_of_work import UnitOfWork, find_as, view_as

if TYPE_CHECKING:
    from domain.till_reconciliation import TillLine


@dataclass(frozen=True)
class OrderHold:
    """An open fulfilment order holding units at the till's store."""

    order: Order
    fulfilment_id: str

    @property
    def hold_id(self) -> UUID:
        return self.order.hold_id(self.fulfilment_id)


def orders_lowest_first(uow: UnitOfWork, stock: Stock) -> list[OrderHold]:
    found = []
    for hold in stock.holds:
        made = uow.view(UUID(hex=hold))
        if not isinstance(made, FulfilmentHold):
            continue  # a cart, a pre-order, or an order held before these records were kept
        order = view_as(uow, made.order_id, Order)
        fulfilment = None if order is None else order.fulfilments.get(made.fulfilment_id)
        if order is not None and fulfilment is not None and fulfilment.status == OPEN:
            found.append(OrderHold(order, made.fulfilment_id))
    return sorted(found, key=lambda h: (h.order.created_on, h.order.id.hex), reverse=True)


def resource_order(
    uow: UnitOfWork, stock: Stock, hold: OrderHold, short: int, line: TillLine
) -> list[dict[str, Any]]:
    order = find_as(uow, hold.order.id, Order)
    if order is None or order.delivery["method"] == PICKUP or not _still_open(order, hold):
        return []
    found = _most_elsewhere(uow, stock, order, hold.fulfilment_id, short, line)
    if found is None:
        return []
    removed, decision = found
    trace = replace(line.trace, reason="till-resourced")
    made = order.resource(hold.fulfilment_id, removed, decision, trace)
    stock.reduce_hold(hold.hold_id, _batches(removed), trace)
    for fulfilment in made:
        for item in fulfilment.lines:
            there = find_as(uow, stock_id(item["sku"], fulfilment.location), Stock)
            assert there is not None  # sourcing found its batches there
            there.hold(order.hold_id(fulfilment.fulfilment_id), item["batches"], trace)
    note_holds(uow, order, made)
    return [
        {
            "action": "resourced",
            "order_id": str(order.id),
            "fulfilment_id": hold.fulfilment_id,
            "channel": order.channel,
            "units": sum(item["quantity"] for item in fulfilment.lines),
            "to_location": fulfilment.location,
            "to_fulfilment_id": fulfilment.fulfilment_id,
            "reason": "the order's units here were sold at the till; it ships them from "
            "another location now",
        }
        for fulfilment in made
    ]


def cancel_order_lines(
    uow: UnitOfWork, stock: Stock, hold: OrderHold, short: int, line: TillLine
) -> list[dict[str, Any]]:
    order = find_as(uow, hold.order.id, Order)
    if order is None or not _still_open(order, hold):
        return []
    trace = replace(line.trace, reason="till-cancelled-hold")
    try:
        removed = order.cancel_for_shortage(hold.fulfilment_id, stock.sku, short, trace)
    except OrderStateError:
        return []  # some item's other units were already handed over: a shortage names it
    places = {f.fulfilment_id: f.location for f in order.fulfilments.values()}
    for removal in removed:
        where = find_as(uow, stock_id(removal["sku"], places[removal["fulfilment_id"]]), Stock)
        assert where is not None  # the fulfilment order held these units there
        where.reduce_hold(order.hold_id(removal["fulfilment_id"]), removal["batches"], trace)
    freed = [r for r in removed if r["fulfilment_id"] == hold.fulfilment_id]
    return [
        {
            "action": "cancelled_hold",
            "order_id": str(order.id),
            "fulfilment_id": hold.fulfilment_id,
            "channel": order.channel,
            "units": sum(r["quantity"] for r in freed if r["sku"] == stock.sku),
            "lines": order.notices[-1]["lines"],
            "reason": "the order's units here were sold at the till and no other location "
            "could send them: its lines are cancelled and its channel reads why",
        }
    ]


def _still_open(order: Order, hold: OrderHold) -> bool:
    """An earlier step of this command may have cancelled the order or this fulfilment."""
    fulfilment = order.fulfilments.get(hold.fulfilment_id)
    return not order.cancelled and fulfilment is not None and fulfilment.status == OPEN


ORDER_STEPS = {RESOURCE: resource_order, CANCEL_HOLD: cancel_order_lines}


def _most_elsewhere(
    uow: UnitOfWork, stock: Stock, order: Order, fulfilment_id: str, short: int, line: TillLine
) -> tuple[list[dict[str, Any]], SourcingDecision] | None:
    """As many of the units short as other locations can send (all of them, else the most,
    found by halving: what serves n units serves fewer), and the decision that sends them."""
    today = line.trace.occurred_at.date()

    def attempt(units: int) -> tuple[list[dict[str, Any]], SourcingDecision] | None:
        removed = order.give_up(fulfilment_id, stock.sku, units)
        decision = _elsewhere(uow, stock, order, removed, today)
        return None if decision is None else (removed, decision)

    most = sum(r["quantity"] for r in order.give_up(fulfilment_id, stock.sku, short))
    whole = attempt(most) if most else None
    if whole is not None:
        return whole
    best, low, high = None, 0, most - 1  # `low` units are served (by `best`), `high`+1 not
    while low < high:
        middle = (low + high + 1) // 2
        found = attempt(middle)
        if found is None:
            high = middle - 1
        else:
            best, low = found, middle
    return best


def _elsewhere(
    uow: UnitOfWork, stock: Stock, order: Order, removed: list[dict[str, Any]], today: date
) -> SourcingDecision | None:
    """Where the order's channel would take the units given up now, this store left out."""
    places = {code: p for code, p in every_place(uow).items() if code != stock.location}
    if not places or not removed:
        return None
    lines = [LineToSource(r["line_id"], r["sku"], r["quantity"]) for r in removed]
    candidates = StockOnHand(uow, [stock.sku], places, today)
    policy = channel_policy(uow, order.channel, places)
    delivery = delivery_from_dict(order.delivery)
    found = source(lines, delivery, policy, candidates, places, today)
    return found if isinstance(found, SourcingDecision) else None


def _batches(removed: list[dict[str, Any]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for removal in removed:
        for number, units in removal["batches"].items():
            total[number] = total.get(number, 0) + units
    return total
