"""The Order aggregate: every transition, and every refusal naming the state it is in."""

from datetime import timedelta
from decimal import Decimal
from uuid import uuid4

import pytest
from shop import NOW, memory_ledger, trace

from domain.commands import Authority
from domain.errors import (
    InvalidCommandError,
    NotPermittedError,
    OrderStateError,
    UnknownFulfilmentError,
)
from domain.order import (
    AUTHORISED,
    CANCELLED,
    CAPTURED,
    COLLECTED,
    COMPLETED,
    DELIVERED,
    FAILED,
    IN_FULFILMENT,
    NOT_COLLECTED,
    OPEN,
    PACKED,
    PICKING,
    PLACED,
    READY_FOR_PICKUP,
    RECEIVED,
    REFUNDED,
    REQUESTED,
    SOURCED,
    Order,
)
from domain.sourcing import (
    LineToSource,
    PickUpAt,
    Place,
    SellableBatch,
    ShipTo,
    SourcingDecision,
    SourcingPolicy,
    delivery_from_dict,
    source,
)

TODAY = NOW.date()
HOME = ShipTo(48.85, 2.30)
PLACES = {
    "WH-PARIS": Place("WH-PARIS", "warehouse", 48.85, 2.35),
    "WH-LYON": Place("WH-LYON", "warehouse", 45.76, 4.83),
    "ST-PARIS": Place("ST-PARIS", "store", 48.86, 2.34),
}
SOON, LATER = TODAY + timedelta(days=60), TODAY + timedelta(days=300)
# Lipstick at both warehouses (Paris: two batches), serum only in Lyon, all in the Paris shop.
STOCK = {
    ("LIP", "WH-PARIS"): (SellableBatch("LIP-EARLY", SOON, 2), SellableBatch("LIP-LATE", LATER, 5)),
    ("LIP", "WH-LYON"): (SellableBatch("LIP-L", LATER, 9),),
    ("SERUM", "WH-LYON"): (SellableBatch("SER-1", LATER, 9),),
    ("LIP", "ST-PARIS"): (SellableBatch("LIP-S", LATER, 9),),
    ("SERUM", "ST-PARIS"): (SellableBatch("SER-S", LATER, 9),),
    ("BALM", "ST-PARIS"): (SellableBatch("BALM-S", LATER, 9),),
}
KIT = (("BALM", 1), ("LIP", 2))  # the gift set: one balm, two lipsticks
WAREHOUSES = SourcingPolicy("web", ship_from_store=False)


def place(*lines, delivery=HOME, at=NOW, **extra) -> Order:
    order_lines = lines or (("LIP", 4, Decimal("12.50")), ("SERUM", 1, Decimal("30")))
    return Order.place(uuid4(), order_lines, "EUR", delivery, trace(at, **extra))


def decision_for(order: Order, policy: SourcingPolicy = WAREHOUSES) -> SourcingDecision:
    to_source = [
        LineToSource(i, line.sku, line.open, KIT if line.sku == "GIFT" else ())
        for i, line in order.lines.items()
        if line.open
    ]
    decided = source(to_source, delivery_from_dict(order.delivery), policy, STOCK, PLACES, TODAY)
    assert isinstance(decided, SourcingDecision), decided
    return decided


def sourced(order: Order | None = None, policy: SourcingPolicy = WAREHOUSES) -> Order:
    order = order or place()
    order.source(decision_for(order, policy), trace())
    return order


def shipped(order: Order, fulfilment_id: str) -> Order:
    order.start_picking(fulfilment_id, trace())
    order.pack(fulfilment_id, trace())
    order.ship(fulfilment_id, trace())
    return order


def event_names(order: Order) -> list[str]:
    return [type(e).__name__ for e in order.collect_events()]


def state(aggregate) -> dict:
    return {k: v for k, v in vars(aggregate).items() if k != "_pending_events"}


# --- placing and sourcing ------------------------------------------------------------------


def test_placing_numbers_the_lines_and_records_who_placed_it():
    order = place(customer_id="C-1", source_ref="web-cart-7")
    assert order.status == PLACED
    assert [(line.line_id, line.sku, line.quantity) for line in order.lines.values()] == [
        ("L1", "LIP", 4),
        ("L2", "SERUM", 1),
    ]
    assert (order.channel, order.customer_id, order.source_ref) == ("test", "C-1", "web-cart-7")
    assert order.as_dict()["delivery"] == {"method": "ship", "latitude": 48.85, "longitude": 2.30}


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ((), "at least one line"),
        ((("LIP", 0, Decimal(1)),), "positive whole number, got 0"),
        ((("LIP", -1, Decimal(1)),), "positive whole number, got -1"),
        ((("LIP", 1, Decimal(-1)),), "cannot be negative"),
    ],
)
def test_an_order_with_a_bad_line_is_refused(lines, message):
    with pytest.raises(InvalidCommandError, match=message):
        Order.place(uuid4(), lines, "EUR", HOME, trace())


def test_sourcing_makes_one_fulfilment_order_per_location_with_its_batches():
    order = place()
    fulfilments = order.source(decision_for(order), trace())
    assert order.status == SOURCED
    assert [(f.fulfilment_id, f.location, f.method, f.status) for f in fulfilments] == [
        ("F1", "WH-PARIS", "ship", OPEN),
        ("F2", "WH-LYON", "ship", OPEN),
    ]
    assert order.fulfilments["F1"].lines == [
        {"line_id": "L1", "sku": "LIP", "quantity": 4, "batches": {"LIP-EARLY": 2, "LIP-LATE": 2}}
    ]
    assert order.decision is not None
    assert {r["location"]: r["code"] for r in order.decision["reasons"]}["ST-PARIS"] == (
        "ship-from-store-off"
    )
    assert event_names(order) == ["Placed", "Sourced"]


def test_an_order_is_sourced_once_only():
    order = sourced()
    with pytest.raises(
        OrderStateError, match="is sourced and cannot be sourced: expected it placed"
    ):
        order.source(decision_for(order), trace())


def test_a_decision_that_does_not_serve_every_line_whole_is_refused():
    order = place()
    partial = decision_for(place(("LIP", 4, Decimal(1))))
    with pytest.raises(InvalidCommandError, match="does not serve line L2"):
        order.source(partial, trace())
    twice = decision_for(place(("LIP", 8, Decimal(1)), ("SERUM", 1, Decimal(1))))
    with pytest.raises(InvalidCommandError, match="does not serve line L1"):
        order.source(twice, trace())
    pickup = place(delivery=PickUpAt("ST-PARIS"))
    with pytest.raises(InvalidCommandError, match="is for pickup, but the decision is for ship"):
        pickup.source(decision_for(order), trace())


# --- fulfilment ----------------------------------------------------------------------------


def test_a_shipped_fulfilment_goes_picking_packed_shipped_delivered():
    order = sourced()
    order.collect_events()
    order.start_picking("F1", trace())
    assert (order.fulfilments["F1"].status, order.status) == (PICKING, IN_FULFILMENT)
    order.pack("F1", trace())
    assert order.fulfilments["F1"].status == PACKED
    order.ship("F1", trace(source_ref="parcel-123"))
    order.deliver("F1", trace())
    assert order.fulfilments["F1"].status == DELIVERED
    assert order.status == IN_FULFILMENT  # F2 has not left Lyon
    shipped(order, "F2").deliver("F2", trace())
    assert order.status == COMPLETED
    assert event_names(order) == [
        "PickingStarted",
        "Packed",
        "Shipped",
        "Delivered",
        "PickingStarted",
        "Packed",
        "Shipped",
        "Delivered",
    ]


def test_a_pickup_is_ready_then_collected_or_not_collected():
    collected = sourced(place(delivery=PickUpAt("ST-PARIS")), SourcingPolicy("web"))
    assert [f.location for f in collected.fulfilments.values()] == ["ST-PARIS"]
    collected.start_picking("F1", trace())
    collected.pack("F1", trace())
    collected.ready_for_pickup("F1", trace())
    assert collected.fulfilments["F1"].status == READY_FOR_PICKUP
    collected.collect("F1", trace())
    assert (collected.fulfilments["F1"].status, collected.status) == (COLLECTED, COMPLETED)
    no_show = sourced(place(delivery=PickUpAt("ST-PARIS")), SourcingPolicy("web"))
    for step in (no_show.start_picking, no_show.pack, no_show.ready_for_pickup):
        step("F1", trace())
    no_show.not_collected("F1", trace(reason="pickup-expired"))
    assert (no_show.fulfilments["F1"].status, no_show.status) == (NOT_COLLECTED, COMPLETED)


@pytest.mark.parametrize(
    ("steps", "illegal", "message"),
    [
        ((), "pack", "F1 of order .* is open and cannot become packed: expected it picking"),
        ((), "ship", "is open and cannot become shipped: expected it packed"),
        (("start_picking",), "start_picking", "is picking and cannot become picking"),
        (("start_picking", "pack"), "deliver", "is packed and cannot become delivered"),
        (("start_picking", "pack"), "ready_for_pickup", "is a ship fulfilment"),
        (("start_picking", "pack", "ship"), "collect", "is a ship fulfilment"),
        (("start_picking", "pack", "ship", "deliver"), "deliver", "is delivered and cannot"),
    ],
)
def test_an_illegal_fulfilment_step_is_refused_with_the_current_state(steps, illegal, message):
    order = sourced()
    for step in steps:
        getattr(order, step)("F1", trace())
    before = state(order)
    order.collect_events()
    with pytest.raises(OrderStateError, match=message) as refused:
        getattr(order, illegal)("F1", trace())
    assert refused.value.details["fulfilment_id"] == "F1"
    assert order.collect_events() == []
    assert state(order) == before


def test_a_pickup_fulfilment_cannot_ship():
    order = sourced(place(delivery=PickUpAt("ST-PARIS")), SourcingPolicy("web"))
    order.start_picking("F1", trace())
    order.pack("F1", trace())
    with pytest.raises(OrderStateError, match="is a pickup fulfilment and cannot become shipped"):
        order.ship("F1", trace())


def test_an_unknown_fulfilment_order_is_not_found():
    with pytest.raises(UnknownFulfilmentError, match="has no fulfilment order 'F9'"):
        sourced().start_picking("F9", trace())


# --- cancelling ----------------------------------------------------------------------------


def test_cancelling_before_sourcing_cancels_every_line():
    order = place()
    assert order.cancel(trace(reason="customer-request")) == []
    assert order.status == CANCELLED
    assert all(line.cancelled == line.quantity for line in order.lines.values())


def test_cancelling_withdraws_every_fulfilment_order_not_yet_shipped():
    order = sourced()
    order.start_picking("F1", trace())
    withdrawn = order.cancel(trace())
    assert [f.fulfilment_id for f in withdrawn] == ["F1", "F2"]
    assert {f.status for f in order.fulfilments.values()} == {CANCELLED}
    assert order.status == CANCELLED


def test_an_order_with_a_shipped_fulfilment_cannot_be_cancelled_whole():
    order = shipped(sourced(), "F1")
    with pytest.raises(OrderStateError, match="fulfilment orders F1 shipped; expected every"):
        order.cancel(trace())


def test_a_cancelled_order_cannot_be_cancelled_or_sourced_again():
    order = place()
    order.cancel(trace())
    with pytest.raises(OrderStateError, match="is cancelled and cannot be cancelled"):
        order.cancel(trace())
    with pytest.raises(OrderStateError, match="is cancelled and cannot be sourced"):
        order.source(decision_for(place()), trace())


def test_cancelling_some_items_takes_the_latest_expiring_batches_back_first():
    order = sourced()
    removed = order.cancel_lines({"L1": 3}, trace())
    assert removed == [
        {
            "fulfilment_id": "F1",
            "line_id": "L1",
            "sku": "LIP",
            "quantity": 3,
            "batches": {"LIP-LATE": 2, "LIP-EARLY": 1},
        }
    ]
    assert order.fulfilments["F1"].lines[0] == {
        "line_id": "L1",
        "sku": "LIP",
        "quantity": 1,
        "batches": {"LIP-EARLY": 1},
    }
    assert order.lines["L1"].cancelled == 3
    assert order.status == SOURCED


def test_cancelling_a_whole_fulfilment_orders_lines_cancels_it_and_all_lines_the_order():
    order = sourced()
    order.cancel_lines({"L2": 1}, trace())
    assert order.fulfilments["F2"].status == CANCELLED
    order.cancel_lines({"L1": 4}, trace())
    assert order.status == CANCELLED


def test_items_already_shipped_cannot_be_cancelled():
    order = shipped(sourced(), "F1")
    with pytest.raises(OrderStateError, match=r"only 0 unit.* not yet shipped; 1 more are shipped"):
        order.cancel_lines({"L1": 1}, trace())
    with pytest.raises(InvalidCommandError, match="line L1 has 4 item"):
        order.cancel_lines({"L1": 5}, trace())
    with pytest.raises(InvalidCommandError, match="has no line 'L7'"):
        order.cancel_lines({"L7": 1}, trace())


def test_a_kit_line_gives_back_every_component_of_the_kits_cancelled():
    order = sourced(
        place(("GIFT", 2, Decimal(40)), delivery=PickUpAt("ST-PARIS")), SourcingPolicy("web")
    )
    assert order.lines["L1"].parts == {"BALM": 1, "LIP": 2}
    removed = order.cancel_lines({"L1": 1}, trace())
    assert {(r["sku"], r["quantity"]) for r in removed} == {("BALM", 1), ("LIP", 2)}


# --- editing -------------------------------------------------------------------------------


def test_an_edit_before_picking_withdraws_the_fulfilment_orders_to_source_again():
    order = sourced()
    withdrawn = order.edit_lines(
        trace(), add=[("LIP", 1, Decimal("12.50"))], remove=["L2"], change={"L1": 2}
    )
    assert [f.fulfilment_id for f in withdrawn] == ["F1", "F2"]
    assert order.status == PLACED and order.fulfilments == {}
    assert [(i, line.quantity) for i, line in order.lines.items()] == [("L1", 2), ("L3", 1)]
    fulfilments = order.source(decision_for(order), trace())
    assert [f.fulfilment_id for f in fulfilments] == ["F3"]  # ids are never reused


def test_an_edit_after_picking_started_is_refused():
    order = sourced()
    order.start_picking("F2", trace())
    with pytest.raises(OrderStateError, match="is in_fulfilment and cannot be edited"):
        order.edit_lines(trace(), change={"L1": 1})


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({}, "must add, remove or change"),
        ({"remove": ["L1", "L2"]}, "without a line"),
        ({"remove": ["L1"], "change": {"L1": 2}}, "both removed and changed"),
        ({"change": {"L1": 0}}, "positive whole number, got 0"),
        ({"change": {"L9": 1}}, "has no line 'L9'"),
        ({"add": [("LIP", -1, Decimal(1))]}, "positive whole number, got -1"),
    ],
)
def test_a_bad_edit_is_refused(edit, message):
    with pytest.raises(InvalidCommandError, match=message):
        place().edit_lines(trace(), **edit)


# --- payment -------------------------------------------------------------------------------


def test_payment_is_authorised_then_captured_up_to_what_was_authorised():
    order = sourced()
    order.authorise_payment(Decimal("80"), trace())
    assert order.payment.status == AUTHORISED
    with pytest.raises(InvalidCommandError, match="only 80 EUR was authorised"):
        order.capture_payment(Decimal("81"), trace())
    order.capture_payment(Decimal("80"), trace())
    assert (order.payment.status, order.payment.captured) == (CAPTURED, Decimal("80"))


@pytest.mark.parametrize(
    ("reported", "message"),
    [
        (["capture"], "is pending and cannot be captured: expected it authorised"),
        (["authorise", "authorise"], "is authorised and cannot be authorised"),
        (["authorise", "capture", "fail"], "is captured and cannot be failed"),
    ],
)
def test_payment_refuses_a_report_out_of_order(reported, message):
    order = sourced()
    calls = {
        "authorise": lambda: order.authorise_payment(Decimal(10), trace()),
        "capture": lambda: order.capture_payment(Decimal(10), trace()),
        "fail": lambda: order.fail_payment(trace()),
    }
    for report in reported[:-1]:
        calls[report]()
    with pytest.raises(OrderStateError, match=message):
        calls[reported[-1]]()


def test_a_failed_payment_cancels_the_order_and_gives_its_stock_back():
    order = sourced()
    order.authorise_payment(Decimal(10), trace())
    withdrawn = order.fail_payment(trace(reason="card-declined"))
    assert [f.fulfilment_id for f in withdrawn] == ["F1", "F2"]
    assert (order.payment.status, order.status) == (FAILED, CANCELLED)


def test_a_payment_cannot_fail_once_something_shipped():
    with pytest.raises(OrderStateError, match="cannot be cancelled by a failure"):
        shipped(sourced(), "F1").fail_payment(trace())


def test_a_zero_amount_is_refused():
    with pytest.raises(InvalidCommandError, match="positive amount, got 0"):
        sourced().authorise_payment(Decimal(0), trace())


# --- returns -------------------------------------------------------------------------------


def test_a_return_is_requested_received_and_refunded():
    order = shipped(sourced(), "F1")
    order.deliver("F1", trace())
    rma = order.request_return({"L1": 3}, trace(customer_id="C-1"))
    assert (rma, order.returns[rma].status) == ("R1", REQUESTED)
    received = order.receive_return(rma, "ST-PARIS", {"L1": 2}, {"L1": 1}, trace())
    assert (received.status, received.restocked, received.damaged) == (
        RECEIVED,
        {"L1": 2},
        {"L1": 1},
    )
    with pytest.raises(InvalidCommandError, match=r"sold for 37\.50 EUR"):
        order.refund_return(rma, Decimal("37.51"), trace())
    order.refund_return(rma, Decimal("37.50"), trace())
    assert (order.returns[rma].status, order.returns[rma].refund) == (REFUNDED, Decimal("37.50"))
    assert order.returnable("L1") == 1
    assert order.request_return({"L1": 1}, trace()) == "R2"


def test_only_items_handed_over_and_not_yet_returned_can_come_back():
    order = sourced()
    with pytest.raises(OrderStateError, match=r"0 item.* handed over and not yet returned, 1"):
        order.request_return({"L1": 1}, trace())
    shipped(order, "F1")
    order.request_return({"L1": 4}, trace())
    with pytest.raises(OrderStateError, match=r"0 item.* handed over and not yet returned"):
        order.request_return({"L1": 1}, trace())


def test_a_return_is_received_once_refunded_once_and_never_beyond_what_was_asked():
    order = shipped(sourced(), "F1")
    rma = order.request_return({"L1": 2}, trace())
    with pytest.raises(OrderStateError, match="is requested and cannot be refunded"):
        order.refund_return(rma, Decimal(1), trace())
    with pytest.raises(InvalidCommandError, match=r"asked for 2 item.* 3 cannot be received"):
        order.receive_return(rma, "WH-PARIS", {"L1": 3}, {}, trace())
    with pytest.raises(InvalidCommandError, match="received nothing"):
        order.receive_return(rma, "WH-PARIS", {}, {}, trace())
    order.receive_return(rma, "WH-PARIS", {"L1": 2}, {}, trace())
    with pytest.raises(OrderStateError, match="is received and cannot be received"):
        order.receive_return(rma, "WH-PARIS", {"L1": 2}, {}, trace())
    with pytest.raises(InvalidCommandError, match="has no return 'R7'"):
        order.receive_return("R7", "WH-PARIS", {"L1": 1}, {}, trace())


def test_a_kit_is_handed_over_once_every_component_is():
    order = sourced(
        place(("GIFT", 1, Decimal(40)), delivery=PickUpAt("ST-PARIS")), SourcingPolicy("web")
    )
    for step in (order.start_picking, order.pack, order.ready_for_pickup, order.collect):
        step("F1", trace())
    assert order.handed_over("L1") == 1


# --- access and storage --------------------------------------------------------------------


def test_only_the_channel_that_placed_it_or_staff_where_it_is_fulfilled_act_on_it():
    order = sourced()
    order.require_authority(Authority(channel="test"), "shipped")
    with pytest.raises(NotPermittedError, match="placed by another channel"):
        order.require_authority(Authority(channel="web"), "shipped")
    with pytest.raises(NotPermittedError, match="holds stock at WH-LYON"):
        order.require_authority(Authority(location="WH-PARIS"), "shipped")


def test_each_fulfilment_order_holds_its_stock_under_its_own_reservation_id():
    order = sourced()
    assert order.hold_id("F1") == order.hold_id("F1") != order.hold_id("F2")
    assert order.hold_id("F1") != sourced().hold_id("F1")


def test_as_dict_answers_the_whole_order():
    answer = sourced().as_dict()
    assert answer["status"] == SOURCED
    assert [f["fulfilment_id"] for f in answer["fulfilments"]] == ["F1", "F2"]
    assert answer["lines"][0]["unit_price"] == "12.50"
    assert answer["payment"] == {"status": "pending", "authorised": "0", "captured": "0"}


def test_every_order_event_survives_the_ledgers_mapper():
    order = shipped(sourced(), "F1")
    order.cancel_lines({"L2": 1}, trace())
    order.authorise_payment(Decimal("50.00"), trace())
    order.capture_payment(Decimal("50.00"), trace())
    order.deliver("F1", trace())
    rma = order.request_return({"L1": 1}, trace())
    order.receive_return(rma, "WH-PARIS", {}, {"L1": 1}, trace())
    order.refund_return(rma, Decimal("12.50"), trace())
    edited = sourced()
    edited.edit_lines(trace(), change={"L1": 1})
    with memory_ledger() as ledger:
        for aggregate in (order, edited):
            ledger.save(aggregate)
            assert state(ledger.repository.get(aggregate.id)) == state(aggregate)
