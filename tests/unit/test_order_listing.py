"""Listing orders from the order view pages by placing position, bounds what one page reads,
and merges a customer's indexes newest first (in-memory store: pure logic)."""

from __future__ import annotations

from uuid import uuid4

import pytest
from shop import trace
from test_order_view_projector import envelopes
from test_orders import place

from projections import order_listing
from projections.hot_view_store import apply_batch
from projections.memory_views import MemoryHotViews
from projections.order_listing import OrderFilter, orders


def shop_of(
    customers: list[str | None], cancel_last: bool = False
) -> tuple[MemoryHotViews, list[str]]:
    """A view holding one placed order per entry (for that customer), in that order."""
    views, placed, events = MemoryHotViews(), [], []
    for customer in customers:
        order = place(**({"customer_id": customer} if customer else {}))
        placed.append(str(order.id))
        events += order.collect_events()
    if cancel_last:
        order.cancel(trace())
        events += order.collect_events()
    apply_batch(views, envelopes(events), "test", len(events))
    return views, placed


def ids(page: dict) -> list[str]:
    return [order["order_id"] for order in page["orders"]]


def test_pages_follow_one_another_by_placing_position_to_the_end() -> None:
    views, placed = shop_of([None] * 5)
    first = orders(views, OrderFilter(), None, 2)
    second = orders(views, OrderFilter(), first["next_after"], 2)
    third = orders(views, OrderFilter(), second["next_after"], 2)
    assert ids(first) + ids(second) + ids(third) == placed
    assert third["next_after"] is None


def test_a_rare_match_reads_a_bounded_page_and_hands_back_a_cursor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(order_listing, "MAX_SCANNED", 3)
    customer = str(uuid4())
    views, placed = shop_of([customer] * 5, cancel_last=True)
    wanted = OrderFilter(customer_ids=(customer,), status="cancelled")
    page = orders(views, wanted, None, 10)
    assert page["orders"] == [] and page["next_after"] is not None
    assert ids(orders(views, wanted, page["next_after"], 10)) == [placed[-1]]


def test_a_customers_history_merges_their_ids_newest_first() -> None:
    me, merged, other = str(uuid4()), str(uuid4()), str(uuid4())
    views, placed = shop_of([me, other, merged, me])
    history = orders(views, OrderFilter(customer_ids=(me, merged)), None, 10, newest_first=True)
    assert ids(history) == [placed[3], placed[2], placed[0]]
    older = orders(views, OrderFilter(customer_ids=(me, merged)), None, 2, newest_first=True)
    rest = orders(
        views, OrderFilter(customer_ids=(me, merged)), older["next_after"], 2, newest_first=True
    )
    assert ids(older) + ids(rest) == [placed[3], placed[2], placed[0]]


def test_forgetting_customers_drops_their_index_only() -> None:
    gone, kept = str(uuid4()), str(uuid4())
    views, placed = shop_of([gone, kept])
    order_listing.forget_customers(views, [gone])
    assert ids(orders(views, OrderFilter(customer_ids=(gone,)), None, 10)) == []
    assert ids(orders(views, OrderFilter(customer_ids=(kept,)), None, 10)) == [placed[1]]
    assert ids(orders(views, OrderFilter(), None, 10)) == placed
