"""Holds that fit checkout: extending a reservation (bounded) and turning a cart's
reservation into an order without its units ever being free."""

from copy import deepcopy
from datetime import timedelta
from uuid import uuid4

import pytest
from shop import (
    NOW,
    RED,
    STORE,
    WAREHOUSE,
    confirm,
    counts,
    expire,
    line,
    open_shop,
    receive,
    reserve,
    stock,
    trace,
)

from domain import commands as c
from domain.errors import (
    AlreadyExistsError,
    HoldLimitError,
    InvalidCommandError,
    NotPermittedError,
    ReservationClosedError,
    ReservationExpiredError,
)
from domain.order import Order
from domain.reservation import MAX_EXTENSIONS, MAX_HOLD, ORDERED
from domain.sourcing import PickUpAt, ShipTo

HOME = ShipTo(48.85, 2.30)


def extend(reservation_id, minutes=10, now=NOW, authority=c.EVERYWHERE):
    return c.ExtendReservation(reservation_id, timedelta(minutes=minutes), now, trace(), authority)


def to_order(reservation_id, order_id=None, delivery=HOME, now=NOW, authority=c.EVERYWHERE):
    return c.ConvertReservationToOrder(
        reservation_id, order_id or uuid4(), delivery, now, trace(), authority
    )


def held_cart(*lines):
    uow = open_shop()
    uow.run(receive(quantity=10))
    uow.run(receive(quantity=5, where=STORE))
    placed = reserve(*(lines or (line(3),)))
    uow.run(placed)
    return uow, placed


def test_an_extension_moves_the_expiry_and_counts():
    uow, placed = held_cart()
    answer = uow.run(extend(placed.reservation_id, minutes=10))
    assert answer.body["expires_at"] == (placed.expires_at + timedelta(minutes=10)).isoformat()
    assert answer.body["extensions"] == 1
    assert uow.event_types() == ["Reservation.Extended"]


def test_an_extended_reservation_does_not_expire_at_its_first_deadline():
    uow, placed = held_cart()
    uow.run(extend(placed.reservation_id, minutes=10))
    at_first_deadline = placed.expires_at + timedelta(minutes=1)
    assert uow.run(expire(placed.reservation_id, at_first_deadline)).body["status"] == "open"
    assert uow.run(confirm(placed.reservation_id, now=at_first_deadline)).body["status"] == (
        "confirmed"
    )


def test_extensions_are_bounded_in_number():
    uow, placed = held_cart()
    for _ in range(MAX_EXTENSIONS):
        uow.run(extend(placed.reservation_id, minutes=1))
    with pytest.raises(HoldLimitError) as refused:
        uow.run(extend(placed.reservation_id, minutes=1))
    assert refused.value.details["max_extensions"] == MAX_EXTENSIONS


def test_an_extension_cannot_hold_beyond_the_longest_hold():
    uow, placed = held_cart()
    too_long = MAX_HOLD - (placed.expires_at - NOW) + timedelta(minutes=1)
    with pytest.raises(HoldLimitError) as refused:
        uow.run(extend(placed.reservation_id, minutes=int(too_long.total_seconds() // 60)))
    assert refused.value.details["latest_expiry"] == (NOW + MAX_HOLD).isoformat()


def test_an_expired_or_closed_reservation_cannot_be_extended():
    uow, placed = held_cart()
    with pytest.raises(ReservationExpiredError):
        uow.run(extend(placed.reservation_id, now=placed.expires_at))
    uow.run(confirm(placed.reservation_id))
    with pytest.raises(ReservationClosedError):
        uow.run(extend(placed.reservation_id))


def test_an_extension_must_be_positive_and_by_the_placing_channel():
    uow, placed = held_cart()
    with pytest.raises(InvalidCommandError):
        uow.run(extend(placed.reservation_id, minutes=0))
    with pytest.raises(NotPermittedError):
        uow.run(extend(placed.reservation_id, authority=c.Authority(channel="web")))


def test_a_cart_becomes_an_order_holding_the_same_units():
    uow, placed = held_cart(line(3), line(2, where=STORE), line(1, sku=RED, where=STORE))
    before = {where: counts(uow, where=where) for where in (WAREHOUSE, STORE)}
    order_id = uuid4()
    answer = uow.run(to_order(placed.reservation_id, order_id))
    assert answer.created
    assert answer.body["status"] == ORDERED and answer.body["order_id"] == str(order_id)
    order = uow.get(order_id)
    assert isinstance(order, Order) and order.status == "sourced"
    assert [(x.sku, x.quantity) for x in order.lines.values()] == [(RED, 6)]
    assert {f.location for f in order.fulfilments.values()} == {WAREHOUSE, STORE}
    assert order.decision["reasons"] == [
        {"location": where, "used": True, "code": "used", "detail": "held by the cart"}
        for where in sorted((WAREHOUSE, STORE))
    ]
    assert {where: counts(uow, where=where) for where in (WAREHOUSE, STORE)} == before
    for fulfilment in order.fulfilments.values():
        held = stock(uow, where=fulfilment.location).holds
        assert order.hold_id(fulfilment.fulfilment_id).hex in held
        assert placed.reservation_id.hex not in held
    assert "Stock.ReservationReleased" not in uow.event_types()
    assert uow.event_types().count("Stock.HoldMoved") == 2


def test_withdrawing_the_orders_fulfilment_frees_exactly_the_carts_units():
    uow, placed = held_cart(line(3))
    order_id = uuid4()
    uow.run(to_order(placed.reservation_id, order_id))
    order = uow.get(order_id)
    (fulfilment,) = order.fulfilments.values()
    shelf = deepcopy(stock(uow))
    shelf.release(placed.reservation_id, trace())  # the cart holds nothing any more
    assert shelf.batches["B1"].reserved == 3
    shelf.release(order.hold_id(fulfilment.fulfilment_id), trace())
    assert shelf.batches["B1"].reserved == 0


def test_a_pickup_order_needs_every_line_held_at_the_pickup_store():
    uow, placed = held_cart(line(1, where=STORE), line(1))
    with pytest.raises(InvalidCommandError, match="pickup at ST1"):
        uow.run(to_order(placed.reservation_id, delivery=PickUpAt(STORE)))
    uow2, at_store = held_cart(line(2, where=STORE))
    order_id = uuid4()
    uow2.run(to_order(at_store.reservation_id, order_id, delivery=PickUpAt(STORE)))
    assert uow2.get(order_id).delivery == {"method": "pickup", "store": STORE}


def test_a_conversion_is_refused_once_expired_closed_or_for_an_existing_order():
    uow, placed = held_cart()
    with pytest.raises(ReservationExpiredError):
        uow.run(to_order(placed.reservation_id, now=placed.expires_at))
    order_id = uuid4()
    uow.run(to_order(placed.reservation_id, order_id))
    with pytest.raises(ReservationClosedError):
        uow.run(to_order(placed.reservation_id))
    again = reserve(line(1))
    uow.run(again)
    with pytest.raises(AlreadyExistsError):
        uow.run(to_order(again.reservation_id, order_id))
