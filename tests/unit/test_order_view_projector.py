"""The order hot view says what the Order aggregate says, for every sequence of legal
commands, and keeps its indexes (channel, customer, status, location) on the order's state."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import uuid4

from hypothesis import HealthCheck, settings
from hypothesis.stateful import invariant
from shop import trace
from test_order_properties import OrderMachine
from test_orders import HOME, place, sourced

from domain.order import CANCELLED, IN_FULFILMENT, PLACED, SOURCED, Order
from domain.sourcing import PickUpAt, SourcingPolicy
from events.envelope import Envelope
from projections.hot_view_store import apply_batch
from projections.hot_views import fold, project
from projections.memory_views import MemoryHotViews
from projections.order_views import AT_LOCATION, BY_CHANNEL, BY_CUSTOMER, BY_STATUS, ORDERS
from streams.log_reader import SubjectBook, to_envelopes

STATUSES = (PLACED, SOURCED, IN_FULFILMENT, "completed", CANCELLED)


def envelopes(events: list[Any], first: int = 1) -> list[Envelope]:
    return to_envelopes(enumerate(events, first), SubjectBook(lambda _: None))


def indexed(store: MemoryHotViews, index: str) -> list[str]:
    return [member for member, _ in store.ranked(index, None, 1000)]


def the_view_of(order: Order) -> dict[str, Any]:
    return fold({}, envelopes(order.collect_events()))[f"order:{order.id}"].document


class ProjectedOrderMachine(OrderMachine):
    """Every run of the order machine, its events projected after each step."""

    views: MemoryHotViews
    projected: int

    def catch_up(self) -> None:
        """Project the events recorded since the last check, as a follower's next page."""
        if not hasattr(self, "views"):
            self.views, self.projected = MemoryHotViews(), 0
        new = envelopes(self.events[self.projected :], self.projected + 1)
        apply_batch(self.views, new, "test", len(self.events))
        self.projected = len(self.events)

    @invariant()
    def the_view_says_what_the_order_says(self) -> None:
        self.catch_up()
        order = self.order
        doc = self.views.read([f"order:{order.id}"])[f"order:{order.id}"]
        assert doc is not None
        assert doc["status"] == order.status
        assert {i: f["status"] for i, f in doc["fulfilments"].items()} == {
            i: f.status for i, f in order.fulfilments.items()
        }
        units = {i: sum(n["quantity"] for n in f["items"]) for i, f in doc["fulfilments"].items()}
        assert units == {
            i: sum(n["quantity"] for n in f.lines) for i, f in order.fulfilments.items()
        }
        assert {i: (n["quantity"], n["cancelled"]) for i, n in doc["lines"].items()} == {
            i: (n.quantity, n.cancelled) for i, n in order.lines.items()
        }
        assert doc["payment"]["status"] == order.payment.status
        assert {i: r["status"] for i, r in doc["returns"].items()} == {
            i: r.status for i, r in order.returns.items()
        }

    @invariant()
    def the_order_is_indexed_under_its_status_and_places_only(self) -> None:
        self.catch_up()
        order, member = self.order, str(self.order.id)
        for status in STATUSES:
            assert (member in indexed(self.views, BY_STATUS + status)) == (status == order.status)
        where = {f.location for f in order.fulfilments.values()}
        where |= {order.delivery["store"]} if order.delivery.get("store") else set()
        for code in ("WH-PARIS", "WH-LYON", "ST-PARIS"):
            assert (member in indexed(self.views, AT_LOCATION + code)) == (code in where)
        assert indexed(self.views, ORDERS) == [member]


ProjectedOrderMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_the_order_view_follows_every_sequence_of_transitions = ProjectedOrderMachine.TestCase


def test_a_placed_order_is_indexed_by_channel_customer_status_and_pickup_store() -> None:
    customer = str(uuid4())
    order = place(delivery=PickUpAt("ST-PARIS"), customer_id=customer)
    [write] = fold({}, envelopes(order.collect_events())).values()
    member = str(order.id)
    assert {(op.kind, op.key) for op in write.indexes} == {
        ("zadd", ORDERS),
        ("zadd", BY_CHANNEL + "test"),
        ("zadd", BY_CUSTOMER + customer),
        ("zadd", BY_STATUS + PLACED),
        ("zadd", AT_LOCATION + "ST-PARIS"),
    }
    assert all(op.member == member and op.score == 1.0 for op in write.indexes)
    assert write.document["customer_id"] == customer
    assert write.document["delivery"] == {"method": "pickup", "store": "ST-PARIS"}


def test_the_view_keeps_no_delivery_coordinates() -> None:
    doc = the_view_of(place(delivery=HOME))
    assert doc["delivery"] == {"method": "ship", "store": None}
    assert "latitude" not in str(doc) and "48.85" not in str(doc)


def test_the_status_index_moves_when_the_order_is_sourced_started_and_cancelled() -> None:
    order = place()
    events = envelopes(order.collect_events())
    sourced(order)
    order.start_picking("F1", trace())
    order.cancel_lines({"L1": 1}, trace())
    later = envelopes(order.collect_events(), len(events) + 1)
    doc = fold({}, events)[f"order:{order.id}"].document
    moves = []
    for envelope in later:
        projected = project(doc, envelope)
        assert projected is not None
        doc, ops = projected
        moves.append([(op.kind, op.key) for op in ops if op.key.startswith(BY_STATUS)])
    assert moves[0] == [("zrem", BY_STATUS + PLACED), ("zadd", BY_STATUS + SOURCED)]
    assert moves[1] == [("zrem", BY_STATUS + SOURCED), ("zadd", BY_STATUS + IN_FULFILMENT)]
    assert doc["status"] == order.status


def test_an_edit_takes_the_order_off_the_locations_it_no_longer_ships_from() -> None:
    order = place()
    sourced(order)
    first = envelopes(order.collect_events())
    where = {f.location for f in order.fulfilments.values()}
    order.edit_lines(trace(), add=[("SERUM", 1, Decimal("30"))])
    [edited] = envelopes(order.collect_events(), len(first) + 1)
    doc = fold({}, first)[f"order:{order.id}"].document
    projected = project(doc, edited)
    assert projected is not None
    removed = {op.key for op in projected[1] if op.kind == "zrem"}
    assert {AT_LOCATION + code for code in where} | {BY_STATUS + SOURCED} == removed
    assert projected[0]["status"] == PLACED and projected[0]["fulfilments"] == {}


def test_an_event_seen_already_changes_nothing() -> None:
    order = place()
    sourced(order)
    events = envelopes(order.collect_events())
    doc = fold({}, events)[f"order:{order.id}"].document
    assert all(project(doc, envelope) is None for envelope in events)


def test_every_step_of_a_pickup_and_of_a_shipment_gives_the_orders_status() -> None:
    walks = {
        "ST-PARIS": ("start_picking", "pack", "ready_for_pickup", "not_collected"),
        "WH-PARIS": ("start_picking", "pack", "ship", "deliver"),
    }
    for store, steps in walks.items():
        delivery = PickUpAt(store) if store.startswith("ST") else HOME
        order = sourced(
            place(("LIP", 1, Decimal("12.50")), delivery=delivery), SourcingPolicy("web")
        )
        doc = the_view_of(order)
        for step in steps:
            getattr(order, step)("F1", trace())
            for envelope in envelopes(order.collect_events(), doc["version"] + 1):
                projected = project(doc, envelope)
                assert projected is not None
                doc = projected[0]
            assert doc["status"] == order.status, (store, step)
        assert doc["status"] == "completed"
