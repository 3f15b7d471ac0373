"""Handlers of holds that fit checkout, transfers in transit and pre-orders (issue 15, items
5 and 6): load, decide, return the result. Saving is the caller's job, as in handlers.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from domain import commands as c
from domain.errors import (
    AlreadyExistsError,
    InvalidCommandError,
    PreordersOffError,
    UnknownPreorderError,
)
from domain.fulfilment_holds import note_holds
from domain.ids import preorder_switch_id
from domain.loading import existing_stock, reservation_of, sku_of, stock_answer, stock_or_open
from domain.order import Order
from domain.preorders import WAITING, Preorder, PreorderSwitch
from domain.results import Result
from domain.sourcing import (
    USED,
    Allocation,
    LocationReason,
    PickUpAt,
    SourcingDecision,
)
from domain.stock import Stock
from domain.trace import Trace
from domain.unit_of_work import UnitOfWork, find_as, view_as

CART = "cart"  # the sourcing "strategy" of an order made from a cart's reservation
HELD_BY_THE_CART = "held by the cart"


def extend_reservation(cmd: c.ExtendReservation, uow: UnitOfWork) -> Result:
    reservation = reservation_of(uow, cmd.reservation_id)
    reservation.require_authority(cmd.authority, "extended")
    reservation.extend(cmd.extra, cmd.trace.at(cmd.now))
    return Result(reservation.as_dict())


def convert_reservation(cmd: c.ConvertReservationToOrder, uow: UnitOfWork) -> Result:
    """The cart's reservation becomes an order sourced from where the cart holds its units:
    each stock hands the reservation's hold to the fulfilment order there, in this commit."""
    reservation = reservation_of(uow, cmd.reservation_id)
    reservation.require_authority(cmd.authority, "turned into an order")
    trace = cmd.trace.at(cmd.now).for_customer(reservation.customer_id)
    reservation.convert(cmd.order_id, trace)  # refused first if closed or expired
    if not uow.is_new(cmd.order_id):
        raise AlreadyExistsError(
            f"order {cmd.order_id} already exists; use a new order id",
            order_id=str(cmd.order_id),
        )
    places = sorted({line["location"] for line in reservation.lines})
    if isinstance(cmd.delivery, PickUpAt) and places != [cmd.delivery.store]:
        raise InvalidCommandError(
            f"reservation {reservation.id} holds stock at {', '.join(places)}; a pickup at "
            f"{cmd.delivery.store} needs every line held there: expected a delivery address"
        )
    units: dict[str, int] = {}
    for line in reservation.lines:
        units[line["sku"]] = units.get(line["sku"], 0) + line["quantity"]
    prices = {code: sku_of(uow, code) for code in units}
    currencies = sorted({sku.currency for sku in prices.values()})
    if len(currencies) != 1:
        raise InvalidCommandError(
            f"reservation {reservation.id} holds SKUs priced in {', '.join(currencies)}: "
            "an order needs one currency"
        )
    order = Order.place(
        cmd.order_id,
        [(code, quantity, prices[code].price) for code, quantity in units.items()],
        currencies[0],
        cmd.delivery,
        trace,
    )
    line_ids = {code: f"L{n}" for n, code in enumerate(units, 1)}
    decision = SourcingDecision(
        CART,
        cmd.delivery.as_dict()["method"],
        tuple(
            Allocation(
                line["location"],
                line_ids[line["sku"]],
                line["sku"],
                line["quantity"],
                tuple(line["allocations"].items()),
            )
            for line in reservation.lines
        ),
        tuple(LocationReason(place, USED, HELD_BY_THE_CART) for place in places),
    )
    fulfilments = order.source(decision, trace)
    for fulfilment in fulfilments:
        for code in dict.fromkeys(item["sku"] for item in fulfilment.lines):
            stock = existing_stock(uow, code, fulfilment.location)
            hold_id = order.hold_id(fulfilment.fulfilment_id)
            stock.move_hold(reservation.id, hold_id, trace)
    note_holds(uow, order, fulfilments)
    uow.add(order)
    return Result({**reservation.as_dict(), "order": order.as_dict()}, created=True)


def receive_transfer(cmd: c.ReceiveTransfer, uow: UnitOfWork) -> Result:
    stock = existing_stock(uow, cmd.sku, cmd.location)
    shortfall = stock.receive_transfer(cmd.transfer_id, cmd.arrived, cmd.trace)
    return Result(
        {
            "transfer_id": str(cmd.transfer_id),
            "shortfall": shortfall,
            **stock_answer(stock, cmd.trace),
        }
    )


def switch_preorders(cmd: c.SwitchPreorders, uow: UnitOfWork) -> Result:
    sku_of(uow, cmd.sku)
    switch = find_as(uow, preorder_switch_id(cmd.sku, cmd.channel), PreorderSwitch)
    if switch is None:
        switch = PreorderSwitch.open(cmd.sku, cmd.channel)
        uow.add(switch)
    switch.switch(cmd.allowed, cmd.trace)
    return Result(switch.as_dict())


def place_preorder(cmd: c.PlacePreorder, uow: UnitOfWork) -> Result:
    if not uow.is_new(cmd.preorder_id):
        raise AlreadyExistsError(
            f"pre-order {cmd.preorder_id} already exists; use a new pre-order id",
            preorder_id=str(cmd.preorder_id),
        )
    stock = stock_or_open(uow, cmd.sku, cmd.location)
    switch = view_as(uow, preorder_switch_id(cmd.sku, cmd.trace.channel), PreorderSwitch)
    if switch is None or not switch.allowed:
        raise PreordersOffError(
            f"channel {cmd.trace.channel} takes no pre-orders of {cmd.sku}: its pre-order "
            "switch is off",
            sku=cmd.sku,
            channel=cmd.trace.channel,
        )
    stock.take_preorder(cmd.preorder_id, cmd.shipment_ref, cmd.quantity, cmd.trace)
    preorder = Preorder.place(
        cmd.preorder_id, cmd.sku, cmd.location, cmd.shipment_ref, cmd.quantity, cmd.trace
    )
    uow.add(preorder)
    return Result(preorder.as_dict(), created=True)


def allocate_waiting_preorders(
    stock: Stock, shipment_ref: str | None, trace: Trace, uow: UnitOfWork
) -> list[dict[str, Any]]:
    """After a receipt: the pre-orders waiting on its shipment that it allocated."""
    allocated = []
    for preorder_id, allocations in stock.allocate_preorders(shipment_ref, trace).items():
        preorder = preorder_of(uow, preorder_id)
        preorder.allocate(allocations, trace.for_customer(preorder.customer_id))
        allocated.append(preorder.as_dict())
    return allocated


def confirm_preorder(cmd: c.ConfirmPreorder, uow: UnitOfWork) -> Result:
    preorder = preorder_of(uow, cmd.preorder_id)
    preorder.require_authority(cmd.authority, "confirmed")
    trace = cmd.trace.for_customer(preorder.customer_id)
    preorder.confirm(trace)
    stock = existing_stock(uow, preorder.sku, preorder.location)
    sku = sku_of(uow, preorder.sku)
    sold = stock.sell_reserved(preorder.id, sku.price, sku.currency, trace)
    return Result({**preorder.as_dict(), "sold": sold, "unit_price": str(sku.price)})


def release_preorder(cmd: c.ReleasePreorder, uow: UnitOfWork) -> Result:
    preorder = preorder_of(uow, cmd.preorder_id)
    preorder.require_authority(cmd.authority, "released")
    was = preorder.status
    preorder.release(cmd.trace)
    stock = existing_stock(uow, preorder.sku, preorder.location)
    if was == WAITING:
        stock.withdraw_preorder(preorder.id, preorder.shipment_ref, cmd.trace)
    else:
        stock.release(preorder.id, cmd.trace)
    return Result(preorder.as_dict())


def delay_shipment(cmd: c.DelayShipment, uow: UnitOfWork) -> Result:
    stock = existing_stock(uow, cmd.sku, cmd.location)
    told = stock.delay_shipment(cmd.shipment_ref, cmd.expected_on, cmd.trace)
    for preorder_id in told:
        preorder_of(uow, preorder_id).delay(cmd.expected_on, cmd.trace)
    return Result({**stock_answer(stock, cmd.trace), "preorders_told": [str(p) for p in told]})


def cancel_shipment(cmd: c.CancelShipment, uow: UnitOfWork) -> Result:
    stock = existing_stock(uow, cmd.sku, cmd.location)
    released = stock.cancel_shipment(cmd.shipment_ref, cmd.trace)
    for preorder_id in released:
        preorder_of(uow, preorder_id).cancel_shipment(cmd.trace)
    return Result(
        {**stock_answer(stock, cmd.trace), "preorders_released": [str(p) for p in released]}
    )


def preorder_of(uow: UnitOfWork, preorder_id: UUID) -> Preorder:
    preorder = uow.find(preorder_id)  # a client's id may name another kind of aggregate
    if not isinstance(preorder, Preorder):
        raise UnknownPreorderError(f"no pre-order {preorder_id}", preorder_id=str(preorder_id))
    return preorder


HOLD_HANDLERS: dict[type[Any], Callable[[Any, UnitOfWork], Result]] = {
    c.ExtendReservation: extend_reservation,
    c.ConvertReservationToOrder: convert_reservation,
    c.ReceiveTransfer: receive_transfer,
    c.SwitchPreorders: switch_preorders,
    c.PlacePreorder: place_preorder,
    c.ConfirmPreorder: confirm_preorder,
    c.ReleasePreorder: release_preorder,
    c.DelayShipment: delay_shipment,
    c.CancelShipment: cancel_shipment,
}
