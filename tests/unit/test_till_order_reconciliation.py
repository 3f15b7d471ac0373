"""A till's late sale against a web order holding the same units at its store: the open
fulfilment order is re-sourced or its lines cancelled by the store's policy, each an event
on the order and on the stock, in the till line's commit; a started one is never touched."""

from __future__ import annotations

from shop import RED, STORE, WAREHOUSE, line, receive, reserve, stock, trace
from test_order_view_projector import envelopes
from till_orders import order_of, start_picking, web_order
from till_shop import answer, lines, policy, shop_with_till, till_sale

from domain import commands as c
from domain.order import CANCELLED, OPEN, PICKING
from domain.sourcing import PickUpAt
from domain.till_commands import DeclareReconciliationPolicy, RegisterTill
from projections.facts import as_dicts, batch_rows
from projections.hot_views import fold

SHOP = "ST-CITY"


def test_a_late_sale_re_sources_the_open_order_from_the_warehouse() -> None:
    uow = shop_with_till()
    uow.run(policy("resource", "cancel_hold"))
    order_id = web_order(uow, 4)
    assert order_of(uow, order_id).fulfilments["F1"].location == STORE
    steps = answer(uow, till_sale(1, 3))["reconciliation"]
    assert [(s["action"], s["units"], s["to_location"]) for s in steps] == [
        ("resourced", 2, WAREHOUSE)
    ]
    assert steps[0]["order_id"] == str(order_id) and steps[0]["to_fulfilment_id"] == "F2"
    order = order_of(uow, order_id)
    assert {f.fulfilment_id: (f.location, f.status) for f in order.fulfilments.values()} == {
        "F1": (STORE, OPEN),
        "F2": (WAREHOUSE, OPEN),
    }
    assert [x["quantity"] for f in order.fulfilments.values() for x in f.lines] == [2, 2]
    here, there = stock(uow, RED, STORE).batches["S1"], stock(uow, RED, WAREHOUSE).batches["W1"]
    assert (here.on_hand, here.reserved, there.reserved) == (2, 2, 2)
    notice = order.as_dict()["till_reconciliation"][0]
    assert (notice["action"], notice["to"], notice["reason"]) == (
        "resourced",
        ["F2"],
        "till-resourced",
    )
    assert "Order.FulfilmentResourced" in uow.event_types()
    assert "Stock.ShortageRecorded" not in uow.event_types()


def test_a_re_sourced_order_ships_its_units_from_both_places() -> None:
    uow = shop_with_till()
    uow.run(policy("resource"))
    order_id = web_order(uow, 5)
    answer(uow, till_sale(1, 5))
    order = order_of(uow, order_id)
    assert order.fulfilments["F1"].status == CANCELLED  # it gave up every unit
    assert order.fulfilments["F2"].location == WAREHOUSE and order.status == "sourced"
    assert stock(uow, RED, STORE).holds == {}


def test_without_stock_elsewhere_the_order_line_is_cancelled_and_the_channel_reads_why() -> None:
    uow = shop_with_till(warehouse_units=0)
    uow.run(policy("resource", "cancel_hold"))
    order_id = web_order(uow, 4)
    steps = answer(uow, till_sale(1, 3))["reconciliation"]
    assert [(s["action"], s["units"], s["lines"]) for s in steps] == [
        ("cancelled_hold", 2, {"L1": 2})
    ]
    order = order_of(uow, order_id)
    assert order.lines["L1"].open == 2 and order.status == "sourced"  # not the whole order
    notice = order.as_dict()["till_reconciliation"][0]
    assert (notice["action"], notice["lines"], notice["reason"]) == (
        "lines_cancelled",
        {"L1": 2},
        "till-cancelled-hold",
    )
    here = stock(uow, RED, STORE).batches["S1"]
    assert (here.on_hand, here.reserved) == (2, 2)
    assert "Order.LinesCancelledForShortage" in uow.event_types()


def test_an_order_all_short_is_cancelled_whole() -> None:
    uow = shop_with_till(store_units=2, warehouse_units=0)
    uow.run(policy("cancel_hold"))
    order_id = web_order(uow, 2)
    answer(uow, till_sale(1, 2))
    assert order_of(uow, order_id).status == CANCELLED
    assert stock(uow, RED, STORE).holds == {}


def test_what_no_other_location_can_send_is_cancelled_after_the_rest_is_re_sourced() -> None:
    uow = shop_with_till(warehouse_units=2)
    uow.run(policy("resource", "cancel_hold"))
    order_id = web_order(uow, 5)
    steps = answer(uow, till_sale(1, 4))["reconciliation"]
    assert [(s["action"], s["units"]) for s in steps] == [("resourced", 2), ("cancelled_hold", 2)]
    order = order_of(uow, order_id)
    assert order.lines["L1"].open == 3
    assert {f: x.lines[0]["quantity"] for f, x in order.fulfilments.items()} == {"F1": 1, "F2": 2}
    assert [n["action"] for n in order.as_dict()["till_reconciliation"]] == [
        "resourced",
        "lines_cancelled",
    ]


def test_with_resource_alone_what_cannot_be_sent_is_a_shortage_naming_the_order() -> None:
    uow = shop_with_till(warehouse_units=2)
    uow.run(policy("resource"))
    order_id = web_order(uow, 5)
    steps = answer(uow, till_sale(1, 4))["reconciliation"]
    assert [(s["action"], s["units"]) for s in steps] == [("resourced", 2), ("shortage", 2)]
    assert steps[1]["holds"] == {order_of(uow, order_id).hold_id("F1").hex: 2}


def test_carts_give_way_before_orders() -> None:
    uow = shop_with_till(warehouse_units=0)
    uow.run(policy("cancel_hold"))
    order_id = web_order(uow, 2)
    cart = reserve(line(2, RED, STORE))
    uow.run(cart)
    steps = answer(uow, till_sale(1, 3))["reconciliation"]
    assert [s["action"] for s in steps] == ["cancelled_hold"]
    assert steps[0]["reservation_id"] == str(cart.reservation_id)
    assert order_of(uow, order_id).lines["L1"].open == 2


def test_the_newest_order_gives_way_first() -> None:
    uow = shop_with_till(warehouse_units=0)
    uow.run(policy("cancel_hold"))
    older, newer = web_order(uow, 2), web_order(uow, 2)
    steps = answer(uow, till_sale(1, 3))["reconciliation"]
    assert [s["order_id"] for s in steps] == [str(newer)]
    assert order_of(uow, older).status == "sourced"
    assert order_of(uow, newer).status == CANCELLED


def test_an_order_being_picked_is_never_touched_a_shortage_names_it() -> None:
    uow = shop_with_till()
    uow.run(policy("resource", "cancel_hold"))
    order_id = web_order(uow, 4)
    start_picking(uow, order_id)
    steps = answer(uow, till_sale(1, 3))["reconciliation"]
    assert [s["action"] for s in steps] == ["shortage"]
    hold = order_of(uow, order_id).hold_id("F1").hex
    assert steps[0]["holds"] == {hold: 2} and steps[0]["transfer_from"] == WAREHOUSE
    order = order_of(uow, order_id)
    assert (
        order.fulfilments["F1"].status == PICKING and "till_reconciliation" not in order.as_dict()
    )


def test_a_pickup_at_the_store_is_not_re_sourced_but_may_be_cancelled() -> None:
    uow = shop_with_till()
    uow.run(c.RegisterLocation(SHOP, "City shop", "store", 52.37, 4.89, trace()))
    uow.run(receive(RED, "P1", quantity=4, where=SHOP))
    uow.run(RegisterTill("T-CITY", SHOP, trace()))
    uow.run(DeclareReconciliationPolicy(SHOP, ("resource", "cancel_hold"), trace()))
    order_id = web_order(uow, 3, delivery=PickUpAt(SHOP))
    sale = till_sale(1, 3).lines[0]
    steps = answer(uow, lines(sale, till="T-CITY"))["reconciliation"]
    assert [(s["action"], s["units"], s["lines"]) for s in steps] == [
        ("cancelled_hold", 2, {"L1": 2})
    ]
    assert order_of(uow, order_id).lines["L1"].open == 1


def test_by_default_the_order_keeps_its_hold_and_a_shortage_is_recorded() -> None:
    uow = shop_with_till()
    order_id = web_order(uow, 4)
    steps = answer(uow, till_sale(1, 3))["reconciliation"]
    assert [s["action"] for s in steps] == ["shortage"]
    assert order_of(uow, order_id).fulfilments["F1"].lines[0]["quantity"] == 4


def test_the_order_view_and_facts_follow_a_re_sourced_then_cancelled_order() -> None:
    uow = shop_with_till(warehouse_units=2)
    uow.run(policy("resource", "cancel_hold"))
    order_id = web_order(uow, 5)
    answer(uow, till_sale(1, 4))  # 2 re-sourced to the warehouse, the other 2 cancelled
    order = order_of(uow, order_id)
    kinds = [type(e).__qualname__ for e in uow.history[order_id]]
    assert {"Order.FulfilmentResourced", "Order.LinesCancelledForShortage"} <= set(kinds)
    found = envelopes(uow.history[order_id])
    doc = fold({}, found)[f"order:{order_id}"].document
    assert doc is not None and doc["status"] == order.status
    assert {
        i: (f["status"], sum(x["quantity"] for x in f["items"]))
        for i, f in doc["fulfilments"].items()
    } == {i: (f.status, sum(x["quantity"] for x in f.lines)) for i, f in order.fulfilments.items()}
    assert doc["lines"]["L1"]["cancelled"] == order.lines["L1"].cancelled == 2
    rows = as_dicts(batch_rows(found))
    units = [(r["fulfilment_id"], r["state"], r["units"]) for r in rows["fulfilments"]]
    resourced = [("F1", "reduced", -2), ("F2", "open", 2)]
    assert units == [("F1", "open", 5), *resourced, ("F1", "reduced", -2)]
    assert [r["kind"] for r in rows["order_outcomes"]] == ["lines_cancelled_for_shortage"]
