"""Analyst questions over a busy day's facts in chDB."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest
import shop
from busy_day import busy_day

from domain import commands as c
from domain.sourcing import ShipTo
from projections import analytics
from projections.clickhouse_facts import ClickHouseFacts
from projections.facts import batch_rows

DAY = shop.TODAY


@pytest.fixture
def day_facts(facts: ClickHouseFacts) -> ClickHouseFacts:
    log = busy_day()
    facts.write(batch_rows(log.envelopes), "worker", log.envelopes[-1].position)
    facts.write(batch_rows(log.envelopes[3:]), "worker", log.envelopes[-1].position)  # a replay
    return facts


def test_daily_sales_by_channel_sku_and_location(day_facts: ClickHouseFacts) -> None:
    rows = analytics.daily_sales(day_facts, DAY, DAY)
    assert [(r["channel"], r["sku"], r["location"], r["units"], r["revenue"]) for r in rows] == [
        ("test", shop.RED, shop.WAREHOUSE, 3, "37.5")
    ]
    assert analytics.daily_sales(day_facts, DAY, DAY, channel="web") == []
    assert analytics.daily_sales(day_facts, DAY + timedelta(1), DAY + timedelta(9)) == []


def test_turnover_and_days_of_cover(day_facts: ClickHouseFacts) -> None:
    rows = {(r["sku"], r["location"]): r for r in analytics.turnover(day_facts, DAY, DAY)}
    red = rows[shop.RED, shop.WAREHOUSE]
    assert (red["opening"], red["closing"], red["sold"]) == (0, 10, 3)
    assert red["turnover"] == pytest.approx(3 / 5)
    assert red["days_of_cover"] == pytest.approx(10 / 3)


def test_batches_expiring_within_n_days(day_facts: ClickHouseFacts) -> None:
    soon = analytics.expiring_batches(day_facts, DAY, (shop.LATER - DAY).days)
    assert {(r["sku"], r["location"], r["batch"], r["on_hand"]) for r in soon} == {
        (shop.RED, shop.WAREHOUSE, "B1", 6),
        (shop.RED, shop.STORE, "B1", 2),
        (shop.NUDE, shop.STORE, "B1", 3),
    }
    assert analytics.expiring_batches(day_facts, DAY, 10) == []


def test_reservation_conversion_and_abandonment(day_facts: ClickHouseFacts) -> None:
    [row] = analytics.reservation_conversion(day_facts, DAY, DAY)
    assert (row["placed"], row["confirmed"], row["abandoned"], row["open"]) == (3, 1, 1, 1)
    assert row["conversion"] == pytest.approx(1 / 3, abs=1e-4)


def test_sell_through_by_product(day_facts: ClickHouseFacts) -> None:
    [row] = analytics.sell_through(day_facts, DAY, DAY)
    assert (row["product_code"], row["received"], row["sold"]) == ("LIP", 18, 3)


def test_a_cart_extended_then_turned_into_an_order_counts_as_converted(
    facts: ClickHouseFacts,
) -> None:
    log = busy_day()
    cart = shop.reserve(shop.line(1))
    log.run(
        cart, c.ExtendReservation(cart.reservation_id, timedelta(minutes=5), shop.NOW, shop.trace())
    )
    home = ShipTo(48.85, 2.30)
    log.run(c.ConvertReservationToOrder(cart.reservation_id, uuid4(), home, shop.NOW, shop.trace()))
    facts.write(batch_rows(log.envelopes), "worker", log.envelopes[-1].position)
    [row] = analytics.reservation_conversion(facts, DAY, DAY)
    assert (row["placed"], row["confirmed"], row["abandoned"], row["open"]) == (4, 2, 1, 1)
