"""Pre-orders against an announced incoming shipment: switched per SKU and channel, bounded by
the shipment, allocated in placement order when it arrives, told when it is late, released
when it is cancelled."""

from datetime import date
from uuid import uuid4

import pytest
from shop import LATER, RED, WAREHOUSE, counts, open_shop, receive, stock, trace

from domain import commands as c
from domain.errors import (
    InsufficientStockError,
    NotPermittedError,
    PreordersOffError,
    PreorderStateError,
    UnknownShipmentError,
)
from domain.preorders import ALLOCATED, CONFIRMED, RELEASED, WAITING

LATE_DAY = date(2025, 4, 15)


def preorder(quantity, ref="PO-9", preorder_id=None):
    return c.PlacePreorder(preorder_id or uuid4(), RED, WAREHOUSE, ref, quantity, trace())


def shop_expecting(quantity=10, ref="PO-9", allowed=True):
    uow = open_shop()
    uow.run(c.ExpectShipment(RED, WAREHOUSE, ref, quantity, date(2025, 4, 1), trace()))
    uow.run(c.SwitchPreorders(RED, "test", allowed, trace()))
    return uow


def arrival(quantity, ref="PO-9", batch="NEW"):
    return receive(batch=batch, expiry=LATER, quantity=quantity, shipment_ref=ref)


def test_a_preorder_waits_on_its_shipment_without_holding_stock():
    uow = shop_expecting()
    answer = uow.run(preorder(4))
    assert answer.created and answer.body["status"] == WAITING
    assert uow.event_types() == ["Stock.PreorderTaken", "Preorder.Placed"]
    summary = stock(uow).summary(LATER)
    assert (summary["incoming"], summary["preordered"], summary["reserved"]) == (10, 4, 0)


def test_preorders_are_off_until_switched_on_for_the_channel():
    uow = shop_expecting(allowed=False)
    with pytest.raises(PreordersOffError):
        uow.run(preorder(1))
    uow.run(c.SwitchPreorders(RED, "test", True, trace()))
    uow.run(preorder(1))


def test_preorders_never_promise_more_than_the_shipment_brings():
    uow = shop_expecting(quantity=5)
    uow.run(preorder(3))
    with pytest.raises(InsufficientStockError) as refused:
        uow.run(preorder(3))
    assert refused.value.details["available"] == 2
    with pytest.raises(UnknownShipmentError):
        uow.run(preorder(1, ref="PO-NONE"))


def test_the_receipt_allocates_waiting_preorders_in_placement_order():
    uow = shop_expecting()
    first, second, third = preorder(3), preorder(4), preorder(2)
    for placed in (first, second, third):
        uow.run(placed)
    answer = uow.run(arrival(8))
    assert [p["preorder_id"] for p in answer.body["preorders_allocated"]] == [
        str(first.preorder_id),
        str(second.preorder_id),
    ]
    assert uow.get(third.preorder_id).status == WAITING
    assert counts(uow) == {"NEW": (8, 7)}
    assert uow.event_types().count("Stock.PreorderAllocated") == 2
    assert uow.event_types().count("Preorder.Allocated") == 2
    uow.run(arrival(2))
    assert uow.get(third.preorder_id).status == ALLOCATED
    assert counts(uow) == {"NEW": (10, 9)}


def test_a_preorder_that_does_not_fit_keeps_the_ones_after_it_waiting():
    uow = shop_expecting()
    big, small = preorder(6), preorder(1)
    uow.run(big)
    uow.run(small)
    uow.run(arrival(5))
    assert [uow.get(p.preorder_id).status for p in (big, small)] == [WAITING, WAITING]
    uow.run(arrival(5))  # the units of both parts count for the shipment
    assert [uow.get(p.preorder_id).status for p in (big, small)] == [ALLOCATED, ALLOCATED]


def test_units_received_for_waiting_preorders_still_count_as_promisable():
    uow = shop_expecting()
    uow.run(preorder(6))
    uow.run(arrival(5))  # not enough for the first: 5 received, 5 still coming, 6 promised
    with pytest.raises(InsufficientStockError) as refused:
        uow.run(preorder(5))
    assert refused.value.details["available"] == 4
    uow.run(preorder(4))


def test_an_allocated_preorder_is_confirmed_into_a_sale_or_released():
    uow = shop_expecting()
    sold, given_back = preorder(2), preorder(3)
    uow.run(sold)
    uow.run(given_back)
    uow.run(arrival(10))
    answer = uow.run(c.ConfirmPreorder(sold.preorder_id, trace()))
    assert answer.body["status"] == CONFIRMED and answer.body["sold"] == {"NEW": 2}
    uow.run(c.ReleasePreorder(given_back.preorder_id, trace()))
    assert counts(uow) == {"NEW": (8, 0)}
    with pytest.raises(PreorderStateError):
        uow.run(c.ConfirmPreorder(given_back.preorder_id, trace()))


def test_a_waiting_preorder_cannot_be_confirmed_but_may_be_released():
    uow = shop_expecting(quantity=3)
    waiting = preorder(3)
    uow.run(waiting)
    with pytest.raises(PreorderStateError, match="is waiting"):
        uow.run(c.ConfirmPreorder(waiting.preorder_id, trace()))
    with pytest.raises(NotPermittedError):
        uow.run(c.ReleasePreorder(waiting.preorder_id, trace(), c.Authority(channel="web")))
    uow.run(c.ReleasePreorder(waiting.preorder_id, trace()))
    assert uow.event_types() == ["Preorder.Released", "Stock.PreorderWithdrawn"]
    uow.run(preorder(3))  # its units are free to promise again


def test_a_late_shipment_tells_each_waiting_preorder_and_they_keep_waiting():
    uow = shop_expecting()
    placed = [preorder(2), preorder(2)]
    for p in placed:
        uow.run(p)
    answer = uow.run(c.DelayShipment(RED, WAREHOUSE, "PO-9", LATE_DAY, trace()))
    assert answer.body["preorders_told"] == [str(p.preorder_id) for p in placed]
    assert uow.event_types().count("Preorder.ShipmentDelayed") == 2
    assert {uow.get(p.preorder_id).expected_on for p in placed} == {LATE_DAY}
    uow.run(arrival(10))
    assert {uow.get(p.preorder_id).status for p in placed} == {ALLOCATED}


def test_a_cancelled_shipment_releases_its_waiting_preorders():
    uow = shop_expecting()
    placed = preorder(2)
    uow.run(placed)
    uow.run(c.CancelShipment(RED, WAREHOUSE, "PO-9", trace()))
    assert uow.get(placed.preorder_id).status == RELEASED
    summary = stock(uow).summary(LATER)
    assert (summary["incoming"], summary["preordered"]) == (0, 0)
    with pytest.raises(UnknownShipmentError):
        uow.run(c.CancelShipment(RED, WAREHOUSE, "PO-9", trace()))
