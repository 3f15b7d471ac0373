"""The demand history's assembly: dense series from each SKU's first day at a location, unmet
demand of no location spread by the recent sales of its channel, promotion days flagged."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from demo.demand import table
from domain.promotions import Promotion
from projections.demand_history import RETURNED, SOLD, STOCK, UNMET, assemble

DAY = date(2026, 10, 1)


def test_quiet_days_are_zeros_from_the_first_day_to_the_last() -> None:
    units = {
        (SOLD, "A-30", "STORE-PAR", "pos", DAY): 2.0,
        (SOLD, "A-30", "STORE-PAR", "pos", DAY + timedelta(days=3)): 1.0,
        (RETURNED, "A-30", "STORE-PAR", "pos", DAY + timedelta(days=4)): 1.0,
        (SOLD, "B-50", "STORE-LYO", "pos", DAY + timedelta(days=2)): 4.0,
    }
    history = assemble(table(units), DAY + timedelta(days=6), {})
    a, b = history.series
    assert (a.sku, a.location, a.first_day) == ("A-30", "STORE-PAR", DAY)
    assert a.sold.tolist() == [2, 0, 0, 1, 0, 0, 0] and a.returned.tolist() == [0, 0, 0, 0, 1, 0, 0]
    assert (b.first_day, b.sold.tolist()) == (DAY + timedelta(days=2), [4, 0, 0, 0, 0])
    assert not a.stock_out.any()  # no stock movements known, no refusal: never out
    assert a.channel_mix == {"pos": 1.0}


def test_facts_after_the_last_day_are_left_out() -> None:
    units = {
        (SOLD, "A-30", "STORE-PAR", "pos", DAY): 2.0,
        (SOLD, "A-30", "STORE-PAR", "pos", DAY + timedelta(days=9)): 7.0,
    }
    (series,) = assemble(table(units), DAY + timedelta(days=1), {}).series
    assert series.sold.tolist() == [2, 0]


def test_unmet_demand_of_no_location_is_spread_by_the_last_28_days_sales_on_its_channel() -> None:
    refused = DAY + timedelta(days=30)
    units = {
        (SOLD, "A-30", "WH-CENTRAL", "web", DAY + timedelta(days=10)): 3.0,
        (SOLD, "A-30", "STORE-PAR", "web", DAY + timedelta(days=20)): 1.0,
        (SOLD, "A-30", "STORE-LYO", "web", DAY): 5.0,  # more than 28 days before: not counted
        (SOLD, "A-30", "STORE-LYO", "pos", DAY + timedelta(days=25)): 9.0,  # another channel
        (UNMET, "A-30", "", "web", refused): 8.0,
        (UNMET, "B-50", "", "web", refused): 4.0,  # never sold on the web: cannot be placed
        (STOCK, "A-30", "STORE-PAR", "", DAY): 10.0,
    }
    history = assemble(table(units), refused, {})
    unmet = {(s.sku, s.location): s.unmet[-1] for s in history.series}
    assert unmet == {
        ("A-30", "STORE-LYO"): 0.0,
        ("A-30", "STORE-PAR"): 2.0,
        ("A-30", "WH-CENTRAL"): 6.0,
    }
    assert history.unplaced_unmet == 4.0
    par = next(s for s in history.series if s.location == "STORE-PAR")
    assert par.stock_out[-1] and not par.stock_out[0]  # refused on its last day


def test_stock_at_a_days_end_decides_a_stock_out() -> None:
    units = {
        (STOCK, "A-30", "STORE-PAR", "", DAY): 3.0,
        (SOLD, "A-30", "STORE-PAR", "pos", DAY + timedelta(days=1)): 3.0,
        (STOCK, "A-30", "STORE-PAR", "", DAY + timedelta(days=1)): -3.0,
        (STOCK, "A-30", "STORE-PAR", "", DAY + timedelta(days=3)): 5.0,
    }
    (series,) = assemble(table(units), DAY + timedelta(days=4), {}).series
    assert series.stock_out.tolist() == [False, True, True, False, False]
    assert series.out_all_day.tolist() == [False, False, True, False, False]


def test_a_promotions_days_are_flagged_on_its_skus() -> None:
    promotion = Promotion(
        "p1", 20, datetime(2026, 10, 2, 12, tzinfo=UTC), datetime(2026, 10, 4, tzinfo=UTC)
    )
    units = {
        (SOLD, "A-30", "STORE-PAR", "pos", DAY): 1.0,
        (SOLD, "B-50", "STORE-PAR", "pos", DAY): 1.0,
    }
    a, b = assemble(table(units), DAY + timedelta(days=4), {"A-30": [promotion]}).series
    assert a.on_promotion.tolist() == [False, True, True, False, False]  # ends at midnight
    assert not b.on_promotion.any()
