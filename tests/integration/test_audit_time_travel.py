"""History and as-of answers on a real PostgreSQL: before the first event, between events,
after the last, by recorded and by occurred time, and for a SKU across locations."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest

from audit.errors import InvalidAuditQueryError, NotYetExistingError, UnknownAggregateError
from audit.history import history
from audit.time_travel import OCCURRED, parse_instant, state_as_of, stock_as_of
from domain import commands as c
from domain.ids import stock_id
from domain.trace import Trace
from tests.e2e.conftest import scratch_database
from tests.integration.audit_shop import SHOP, SOAP, WAREHOUSE, Shop, now, open_shop

STOCK = stock_id(SOAP, SHOP)


@pytest.fixture
def shop() -> Iterator[Shop]:
    with scratch_database() as url, open_shop(url) as opened:
        yield opened


def _on_hand(shop: Shop, at: object, basis: str = "recorded") -> int:
    stock = state_as_of(shop.ledger, STOCK, at, basis)  # type: ignore[arg-type]
    return sum(b.on_hand for b in stock.batches.values())  # type: ignore[attr-defined]


def test_history_lists_every_event_with_who_why_and_both_times(shop: Shop) -> None:
    shop.receive("B1", 10)
    shop.sell(3, channel="pos", source_ref="till-receipt-9", reason="walk-in")
    entries = history(shop.ledger, STOCK)
    assert [e["type"] for e in entries] == ["Stock.Opened", "Stock.BatchReceived", "Stock.Sold"]
    assert [e["version"] for e in entries] == [1, 2, 3]
    sale = entries[2]
    assert sale["trace"]["channel"] == "pos"
    assert sale["trace"]["source_ref"] == "till-receipt-9"
    assert sale["trace"]["principal"] == "auditor-test"
    assert sale["occurred_at"] and sale["recorded_at"]
    assert sale["data"]["allocations"] == {"B1": 3}


def test_history_of_an_unknown_aggregate_is_refused(shop: Shop) -> None:
    with pytest.raises(UnknownAggregateError):
        history(shop.ledger, stock_id("NOPE", SHOP))


def test_as_of_before_the_first_event_says_it_did_not_exist_yet(shop: Shop) -> None:
    before = now()
    shop.receive("B1", 10)
    with pytest.raises(NotYetExistingError):
        state_as_of(shop.ledger, STOCK, before)


def test_as_of_between_events_replays_only_what_was_recorded_by_then(shop: Shop) -> None:
    shop.receive("B1", 10)
    time.sleep(0.01)
    between = now()
    time.sleep(0.01)
    shop.sell(4)
    assert _on_hand(shop, between) == 10
    assert state_as_of(shop.ledger, STOCK, between).version == 2


def test_as_of_after_the_last_event_is_the_current_state(shop: Shop) -> None:
    shop.receive("B1", 10)
    shop.sell(4)
    after = now() + timedelta(days=1)
    replayed = state_as_of(shop.ledger, STOCK, after)
    live = shop.ledger.repository.get(STOCK)
    assert replayed.version == live.version == 3
    assert replayed.batches == live.batches  # type: ignore[attr-defined]


def test_a_late_reported_sale_counts_by_occurred_time_but_not_by_recorded_time(
    shop: Shop,
) -> None:
    shop.receive("B1", 10)
    time.sleep(0.01)
    offline_at = now()
    time.sleep(0.01)
    # The till was offline: the sale happened at `offline_at` and is recorded only now.
    late = Trace("pos", "till-3", offline_at + timedelta(microseconds=1))
    shop.run(c.SellDirect(uuid.uuid4(), (c.StockLine(SOAP, SHOP, 2),), late))
    just_after = offline_at + timedelta(microseconds=2)
    assert _on_hand(shop, just_after) == 10
    assert _on_hand(shop, just_after, OCCURRED) == 8


def test_stock_of_a_sku_across_locations_as_of_an_instant(shop: Shop) -> None:
    shop.receive("B1", 10, where=SHOP)
    time.sleep(0.01)
    middle = now()
    time.sleep(0.01)
    shop.receive("B1", 5, where=WAREHOUSE)
    early = stock_as_of(shop.ledger, SOAP, middle)
    assert early["on_hand"] == 10
    assert [loc["location"] for loc in early["locations"]] == [SHOP]
    late = stock_as_of(shop.ledger, SOAP, now())
    assert late["on_hand"] == 15
    assert {loc["location"] for loc in late["locations"]} == {SHOP, WAREHOUSE}


def test_an_instant_without_a_timezone_is_refused() -> None:
    with pytest.raises(InvalidAuditQueryError):
        parse_instant("2026-01-01T00:00:00")
    with pytest.raises(InvalidAuditQueryError):
        parse_instant("yesterday")
    assert parse_instant("2026-01-01T00:00:00Z").tzinfo is not None
