"""The hot-view projector gives what the aggregates say, and ignores what it has seen."""

from __future__ import annotations

import random
from uuid import uuid4

import shop
from busy_day import busy_day
from event_log import ShopLog

from domain.commands import EVERYWHERE
from domain.ids import stock_id
from domain.order_commands import CancelOrderLines, OrderedItem, PlaceOrder
from domain.sourcing import ShipTo
from domain.stock import Stock
from events.envelope import Envelope
from projections.availability import availability, total
from projections.hot_views import OPEN_RESERVATIONS, IndexOp, fold, view_key


def redelivered_late(envelopes: list[Envelope], seed: int = 7) -> list[Envelope]:
    """Each event once in log order, and 30 of them again somewhere after their first delivery,
    as a consumer that restarts from an older offset sees them."""
    rng = random.Random(seed)
    delivered = list(envelopes)
    for _ in range(30):
        original = rng.randrange(len(envelopes))
        first = delivered.index(envelopes[original])
        delivered.insert(rng.randrange(first + 1, len(delivered) + 1), envelopes[original])
    return delivered


def documents(envelopes: list[Envelope]) -> dict[str, dict]:
    return {key: write.document for key, write in fold({}, envelopes).items()}


def test_stock_views_give_the_same_figures_as_the_stock_aggregates() -> None:
    log = busy_day()
    views = documents(log.envelopes)
    for sku, where in [(shop.RED, shop.WAREHOUSE), (shop.RED, shop.STORE), (shop.NUDE, shop.STORE)]:
        stock = log.uow.get(stock_id(sku, where))
        assert isinstance(stock, Stock)
        expected = stock.summary(shop.TODAY)
        found = availability(views[f"stock:{sku}@{where}"], shop.TODAY)
        assert {k: v for k, v in found.items() if k != "batches"} == {
            k: v for k, v in expected.items() if k != "batches"
        }
        assert [
            {k: b[k] for k in ("number", "on_hand", "reserved", "status", "available")}
            for b in found["batches"]
        ] == [
            {k: b[k] for k in ("number", "on_hand", "reserved", "status", "available")}
            for b in expected["batches"]
        ]


def test_the_total_over_locations_sums_each_location() -> None:
    views = documents(busy_day().envelopes)
    red = [
        availability(views[f"stock:{shop.RED}@{w}"], shop.TODAY)
        for w in (shop.WAREHOUSE, shop.STORE)
    ]
    summed = total(shop.RED, red)
    assert summed["on_hand"] == red[0]["on_hand"] + red[1]["on_hand"]
    assert summed["available"] == red[0]["available"] + red[1]["available"]


def test_a_duplicated_event_changes_nothing() -> None:
    log = busy_day()
    doubled = [e for envelope in log.envelopes for e in (envelope, envelope)]
    assert documents(doubled) == documents(log.envelopes)


def test_an_earlier_event_delivered_again_after_later_ones_changes_nothing() -> None:
    log = busy_day()
    assert documents(redelivered_late(log.envelopes)) == documents(log.envelopes)


def test_an_event_already_in_the_stored_view_is_skipped() -> None:
    log = busy_day()
    stored = documents(log.envelopes)
    assert fold(stored, log.envelopes) == {}


def test_a_write_expects_the_version_it_was_computed_from() -> None:
    log = busy_day()
    half = len(log.envelopes) // 2
    stored = documents(log.envelopes[:half])
    writes = fold(stored, log.envelopes[half:])
    for key, write in writes.items():
        assert write.expected_version == (stored[key]["version"] if key in stored else 0)
    assert {**stored, **{k: w.document for k, w in writes.items()}} == documents(log.envelopes)


def test_an_open_reservation_is_indexed_by_expiry_until_it_closes() -> None:
    log = busy_day()
    reservations = [e for e in log.envelopes if e.type.startswith("Reservation.")]
    writes = fold({}, reservations)
    opened = {op.member for w in writes.values() for op in w.indexes if op.kind == "zadd"}
    closed = {op.member for w in writes.values() for op in w.indexes if op.kind == "zrem"}
    assert len(opened) == 3 and len(closed) == 2
    statuses = sorted(w.document["status"] for w in writes.values())
    assert statuses == ["confirmed", "open", "released"]
    assert all(op.key == OPEN_RESERVATIONS for w in writes.values() for op in w.indexes)


def test_catalog_and_location_views() -> None:
    views = documents(busy_day().envelopes)
    assert views["product:LIP"]["details"]["brand"] == "Glow"
    assert views["product:LIP"]["skus"] == [shop.RED, shop.NUDE]
    assert views[f"sku:{shop.NUDE}"]["price"] == "13.00"
    assert views[f"location:{shop.STORE}"]["latitude"] == 52.37
    sku_locations = fold({}, busy_day().envelopes)[f"stock:{shop.RED}@{shop.STORE}"].indexes
    assert IndexOp("sadd", f"sku-locations:{shop.RED}", shop.STORE) in sku_locations


def test_each_aggregate_has_its_own_view() -> None:
    keys = {view_key(e) for e in busy_day().envelopes}
    assert f"stock:{shop.RED}@{shop.WAREHOUSE}" in keys
    assert len({e.aggregate_id for e in busy_day().envelopes}) == len(keys)


def test_a_hold_is_dropped_when_its_reservation_is_released() -> None:
    log = busy_day()
    views = documents(log.envelopes)
    red = views[f"stock:{shop.RED}@{shop.WAREHOUSE}"]
    assert sum(sum(held.values()) for held in red["holds"].values()) == 1


def test_an_orders_holds_and_their_partial_release_show_in_the_stock_views() -> None:
    log = ShopLog()
    log.run(shop.lipstick(), shop.location(shop.WAREHOUSE), shop.receive(quantity=10))
    placed = PlaceOrder(uuid4(), (OrderedItem(shop.RED, 5),), ShipTo(52.0, 4.9), shop.trace())
    log.run(placed, CancelOrderLines(placed.order_id, {"L1": 2}, shop.trace(), EVERYWHERE))
    assert "Stock.HoldReduced" in log.uow.event_types()
    views = documents(log.envelopes)
    found = availability(views[f"stock:{shop.RED}@{shop.WAREHOUSE}"], shop.TODAY)
    assert (found["reserved"], found["available"]) == (3, 7)
    assert not any(key.startswith("reservation:") for key in views)  # an order is no cart
    assert views[f"order:{placed.order_id}"]["lines"]["L1"]["cancelled"] == 2
