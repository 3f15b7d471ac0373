"""A till's late sale against what the web shop held meanwhile: recorded whole, reconciled by
the store's declared policy with an event per step, never clamped, never refused for stock."""

from __future__ import annotations

import pytest
from shop import RED, STORE, WAREHOUSE, line, reserve, stock
from till_shop import TILL, answer, lines, policy, shop_with_till, till_sale, till_void

from domain.errors import UnknownTillError
from domain.reservation import CANCELLED, Reservation
from domain.tills import Till, till_id


def test_a_till_sale_with_free_units_sells_them_and_conflicts_with_nothing() -> None:
    uow = shop_with_till()
    said = answer(uow, till_sale(1, 2))
    assert said["outcome"] == "applied" and "reconciliation" not in said
    assert stock(uow, RED, STORE).batches["S1"].on_hand == 3
    assert "Stock.ShortageRecorded" not in uow.event_types()


def test_a_late_sale_re_sources_the_web_cart_from_the_warehouse() -> None:
    uow = shop_with_till()
    uow.run(policy("resource", "cancel_hold"))
    cart = reserve(line(4, RED, STORE))
    uow.run(cart)
    said = answer(uow, till_sale(1, 3))
    steps = said["reconciliation"]
    assert [s["action"] for s in steps] == ["resourced"]
    assert steps[0]["to_location"] == WAREHOUSE and steps[0]["units"] == 2
    held = uow.get(cart.reservation_id)
    assert isinstance(held, Reservation) and held.status == "open"
    assert {(x["location"], x["quantity"]) for x in held.lines} == {(STORE, 2), (WAREHOUSE, 2)}
    assert stock(uow, RED, WAREHOUSE).batches["W1"].reserved == 2
    here = stock(uow, RED, STORE).batches["S1"]
    assert (here.on_hand, here.reserved) == (2, 2)
    assert "Reservation.Resourced" in uow.event_types()


def test_without_stock_elsewhere_the_cart_is_cancelled_and_its_channel_told() -> None:
    uow = shop_with_till(warehouse_units=0)
    uow.run(policy("resource", "cancel_hold"))
    cart = reserve(line(4, RED, STORE))
    uow.run(cart)
    steps = answer(uow, till_sale(1, 3))["reconciliation"]
    assert [s["action"] for s in steps] == ["cancelled_hold"]
    held = uow.get(cart.reservation_id)
    assert isinstance(held, Reservation) and held.status == CANCELLED
    assert "Reservation.CancelledForShortage" in uow.event_types()
    here = stock(uow, RED, STORE).batches["S1"]
    assert (here.on_hand, here.reserved) == (2, 0)


def test_by_default_a_shortage_is_recorded_and_the_cart_keeps_its_hold() -> None:
    uow = shop_with_till()
    cart = reserve(line(4, RED, STORE))
    uow.run(cart)
    steps = answer(uow, till_sale(1, 3))["reconciliation"]
    assert [s["action"] for s in steps] == ["shortage"]
    assert steps[0]["holds"] == {cart.reservation_id.hex: 2}
    assert steps[0]["transfer_from"] == WAREHOUSE
    here = stock(uow, RED, STORE)
    assert here.units_short() == 2 == here.counters["till_shortage"]


def test_units_the_web_already_sold_make_a_negative_count_explained_by_a_shortage() -> None:
    uow = shop_with_till(store_units=2, warehouse_units=0)
    uow.run(reserve(line(2, RED, STORE)))
    said = answer(uow, till_sale(1, 3))
    assert said["items"][0]["quantity"] == 3  # never clamped
    here = stock(uow, RED, STORE)
    assert here.batches["S1"].on_hand == -1
    assert here.units_short() == 3 == here.counters["till_shortage"]
    assert said["reconciliation"][0]["holds"][""] == 1


def test_an_unknown_sku_is_rejected_recorded_and_touches_no_stock() -> None:
    uow = shop_with_till()
    said = answer(uow, till_sale(1, 1, sku="NO-SUCH"))
    assert said["outcome"] == "rejected" and "NO-SUCH" in said["error"]
    assert uow.event_types() == ["Till.LinesRecorded"]
    assert answer(uow, till_sale(2, 1))["outcome"] == "applied"


def test_a_line_after_a_gap_is_refused_and_a_recorded_one_too() -> None:
    uow = shop_with_till()
    uow.run(till_sale(1, 1))
    gap = answer(uow, till_sale(4, 1))
    assert (gap["outcome"], gap["error"]) == ("error", "till-sequence")
    assert "expects line 2 next, got line 4" in gap["detail"]
    assert answer(uow, till_sale(1, 1))["outcome"] == "already_recorded"
    assert stock(uow, RED, STORE).batches["S1"].on_hand == 4


def test_lines_of_one_command_are_recorded_by_one_till_event() -> None:
    uow = shop_with_till()
    sales = [till_sale(seq, 1).lines[0] for seq in (1, 2, 3)]
    body = uow.run(lines(*sales)).body
    assert [x["outcome"] for x in body["lines"]] == ["applied"] * 3 and body["next_seq"] == 4
    assert uow.event_types().count("Till.LinesRecorded") == 1


def test_a_void_puts_the_sale_back_once() -> None:
    uow = shop_with_till()
    uow.run(till_sale(1, 2))
    assert answer(uow, till_void(2, 1, 2))["outcome"] == "applied"
    assert stock(uow, RED, STORE).batches["S1"].on_hand == 5
    assert answer(uow, till_void(3, 1, 2))["outcome"] == "rejected"


def test_an_unregistered_till_is_unknown() -> None:
    uow = shop_with_till()
    with pytest.raises(UnknownTillError):
        uow.run(lines(till_sale(1, 1).lines[0], till="T9"))


def test_the_till_keeps_a_report_per_journal() -> None:
    uow = shop_with_till()
    uow.run(reserve(line(5, RED, STORE)))
    uow.run(till_sale(1, 1))
    uow.run(till_sale(2, 1, sku="NO-SUCH"))
    till = uow.get(till_id(TILL))
    assert isinstance(till, Till)
    summary = till.journals["J1"]
    assert (summary["lines"], summary["sale"], summary["rejected_lines"]) == (2, 1, 1)
    assert summary["conflicted"] == 1 and summary["conflicts"][0]["seq"] == 1
