"""Order fulfilment figures from the order facts in chDB, against the same figures worked out
by hand from the scenario (tests/unit/fulfilment_days.py)."""

from __future__ import annotations

from datetime import date

import pytest
from fulfilment_days import DAY_ONE, DAY_TWO, fulfilment_days

from projections.clickhouse_facts import ClickHouseFacts
from projections.facts import batch_rows
from projections.order_analytics import order_fulfilment

ONE, TWO = DAY_ONE.date(), DAY_TWO.date()


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default percentile)."""
    ranked = sorted(values)
    at = q * (len(ranked) - 1)
    low = int(at)
    high = min(low + 1, len(ranked) - 1)
    return ranked[low] + (ranked[high] - ranked[low]) * (at - low)


@pytest.fixture
def order_facts(facts: ClickHouseFacts) -> ClickHouseFacts:
    log, _ = fulfilment_days()
    last = log.envelopes[-1].position
    facts.write(batch_rows(log.envelopes), "worker", last)
    facts.write(batch_rows(log.envelopes[len(log.envelopes) // 2 :]), "worker", last)  # a replay
    return facts


def rows_by_key(facts: ClickHouseFacts, start: date, end: date, channel: str | None = None):
    return {(r["day"], r["channel"]): r for r in order_fulfilment(facts, start, end, channel)}


def test_the_webs_first_day_matches_the_figures_worked_out_by_hand(
    order_facts: ClickHouseFacts,
) -> None:
    web = rows_by_key(order_facts, ONE, ONE)[ONE.isoformat(), "web"]
    # A..F: B alone is split (city store + warehouse); every order is settled.
    assert (web["orders"], web["sourced_orders"], web["split_orders"]) == (6, 6, 1)
    assert web["split_rate"] == round(1 / 6, 4)
    assert (web["settled_orders"], web["open_orders"]) == (6, 0)
    # ordered units A2 B2 C3 D1 E2 F1; handed over A2 B2 C2 (1 cancelled) D1, E no-show, F
    # cancelled; A, B and D got every unit.
    assert (web["units_ordered"], web["units_filled"]) == (11, 7)
    assert web["fill_rate"] == round(7 / 11, 4)
    assert (web["orders_filled"], web["order_fill_rate"]) == (3, 0.5)
    # ship fulfilment orders A-F1 (city store), B-F1 (city store), B-F2, C-F1, F-F1
    assert (web["ship_fulfilments"], web["ship_from_store"]) == (5, 2)
    assert web["ship_from_store_share"] == 0.4
    assert (web["ship_units"], web["ship_from_store_units"]) == (8, 3)
    assert web["ship_from_store_unit_share"] == 0.375
    assert (web["collected"], web["not_collected"], web["no_show_rate"]) == (1, 1, 0.5)
    to_ship = [3600, 7200, 10_800, 1800]  # A, B's two, C
    assert web["time_to_ship_p50_seconds"] == pytest.approx(percentile(to_ship, 0.5))
    assert web["time_to_ship_p90_seconds"] == pytest.approx(percentile(to_ship, 0.9))
    to_ready = [5400, 9000]  # D, E
    assert web["time_to_ready_for_pickup_p50_seconds"] == pytest.approx(7200)
    assert web["time_to_ready_for_pickup_p90_seconds"] == pytest.approx(percentile(to_ready, 0.9))


def test_an_order_still_in_fulfilment_is_open_and_left_out_of_the_fill_rate(
    order_facts: ClickHouseFacts,
) -> None:
    app = rows_by_key(order_facts, ONE, ONE)[ONE.isoformat(), "app"]
    # G shipped whole from the warehouse after 600 s; H is being picked
    assert (app["orders"], app["settled_orders"], app["open_orders"]) == (2, 1, 1)
    assert (app["units_ordered"], app["units_filled"], app["fill_rate"]) == (2, 2, 1.0)
    assert (app["ship_fulfilments"], app["ship_from_store_share"]) == (2, 0.0)
    assert app["no_show_rate"] is None and app["time_to_ready_for_pickup_p50_seconds"] is None
    assert app["time_to_ship_p50_seconds"] == app["time_to_ship_p90_seconds"] == 600


def test_the_period_gives_each_channel_and_everything_over_all_its_days(
    order_facts: ClickHouseFacts,
) -> None:
    rows = rows_by_key(order_facts, ONE, TWO)
    assert list(rows) == [
        (ONE.isoformat(), "app"), (ONE.isoformat(), "web"), (TWO.isoformat(), "web"),
        (None, "app"), (None, "web"), (None, None),
    ]  # fmt: skip
    web, everything = rows[None, "web"], rows[None, None]
    assert (web["orders"], web["units_ordered"], web["units_filled"]) == (7, 12, 8)  # I too
    to_ship = [3600, 7200, 10_800, 1800, 20_000]
    assert web["time_to_ship_p90_seconds"] == pytest.approx(percentile(to_ship, 0.9))
    assert (everything["orders"], everything["split_orders"]) == (9, 1)
    assert everything["split_rate"] == round(1 / 9, 4)
    assert (everything["ship_fulfilments"], everything["ship_from_store"]) == (8, 2)
    assert everything["fill_rate"] == round(10 / 14, 4)


def test_one_channel_and_an_empty_period(order_facts: ClickHouseFacts) -> None:
    rows = rows_by_key(order_facts, ONE, TWO, "app")
    assert {channel for _, channel in rows} == {"app", None}
    assert rows[None, None]["orders"] == 2
    [nothing] = order_fulfilment(order_facts, date(2024, 1, 1), date(2024, 1, 31))
    assert (nothing["day"], nothing["channel"], nothing["orders"]) == (None, None, 0)
    assert nothing["fill_rate"] is None and nothing["time_to_ship_p50_seconds"] is None
