"""Promotions in a forecasting run: the lift is learnt from the promotions in the history, the
models learn a baseline that past promotions do not inflate, and a scheduled promotion raises
the forecast (and its quantiles) on its days only."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from domain.forecasts import DemandForecast
from domain.promotions import Promotion
from forecasting.promotion_lift import MAX_LIFT, pooled_lift
from forecasting.run import run
from projections.demand_history import DemandHistory, SeriesHistory, promoted_days

TO_DAY = date(2026, 11, 30)
DAYS, HORIZON, BASE, LIFT = 182, 28, 3.0, 2.0
FIRST = TO_DAY - timedelta(days=DAYS - 1)


def promotion(n: int, starts: date, days: int) -> Promotion:
    begin = datetime(starts.year, starts.month, starts.day, tzinfo=UTC)
    return Promotion(f"00000000-0000-4000-9000-{n:012d}", 20, begin, begin + timedelta(days=days))


def shop(seed: int = 5, series: int = 120, scheduled: bool = True) -> DemandHistory:
    """Series selling BASE a day (Poisson), LIFT times that on their past promotions (every
    other series had one of two weeks); the first series has a promotion scheduled in the
    horizon's second week."""
    rng = np.random.default_rng(seed)
    found = []
    for n in range(series):
        promotions = []
        if n % 2 == 0:
            promotions.append(promotion(n, FIRST + timedelta(days=int(rng.integers(20, 150))), 14))
        if n == 0 and scheduled:
            promotions.append(promotion(999, TO_DAY + timedelta(days=8), 7))
        flags = promoted_days(promotions, FIRST, DAYS)
        sold = rng.poisson(np.where(flags, BASE * LIFT, BASE)).astype(np.float64)
        nothing = np.zeros(DAYS)
        found.append(
            SeriesHistory(
                f"SKU-{n:03d}", "STORE-1", FIRST, sold, nothing, nothing,
                np.zeros(DAYS, dtype=bool), np.zeros(DAYS, dtype=bool), flags,
                promotions=tuple(promotions),
            )
        )  # fmt: skip
    return DemandHistory(TO_DAY, found, 0.0)


def daily(forecast: DemandForecast, start: int, end: int) -> float:
    return float(np.mean([d.mean for d in forecast.days[start:end]]))


def test_a_scheduled_promotion_raises_its_days_and_past_ones_do_not_inflate_the_rest() -> None:
    outcome = run(shop(), HORIZON, censored=True, workers=1)
    assert outcome.promotion_lift == pytest.approx(LIFT, rel=0.12)
    by_sku = {f.sku: f for f in outcome.forecasts}
    promoted = by_sku["SKU-000"]
    assert [d.day for d in promoted.days][:2] == [TO_DAY + timedelta(days=1), TO_DAY + timedelta(2)]
    on = daily(promoted, 7, 14)  # the promotion's days (from the 8th day after the history)
    off = np.mean([daily(promoted, 0, 7), daily(promoted, 14, 28)])
    assert on == pytest.approx(off * outcome.promotion_lift, rel=0.05)
    for day in promoted.days[7:14]:
        assert list(day.quantiles) == sorted(day.quantiles)
    # every other series, with a past promotion or not: forecast at the baseline rate
    rates = [daily(f, 0, HORIZON) for sku, f in by_sku.items() if sku != "SKU-000"]
    assert float(np.mean(rates)) == pytest.approx(BASE, rel=0.08)


def test_without_the_lift_the_past_promotions_inflate_the_baseline() -> None:
    """What deflating buys: learning from the raw series puts the promotions into the base."""
    history = shop(scheduled=False)
    outcome = run(history, HORIZON, censored=True, workers=1)
    ours = float(np.mean([daily(f, 0, HORIZON) for f in outcome.forecasts]))
    no_promotions = DemandHistory(
        TO_DAY,
        [
            SeriesHistory(
                s.sku, s.location, s.first_day, s.sold, s.returned, s.unmet, s.stock_out,
                s.out_all_day, np.zeros(DAYS, dtype=bool),
            )
            for s in history.series
        ],
        0.0,
    )  # fmt: skip
    raw = run(no_promotions, HORIZON, censored=True, workers=1)
    assert raw.promotion_lift == 1.0
    naive = float(np.mean([daily(f, 0, HORIZON) for f in raw.forecasts]))
    assert abs(ours - BASE) < abs(naive - BASE)


def test_the_lift_is_one_without_evidence_and_bounded() -> None:
    flat = [np.full(60, 2.0)]
    assert pooled_lift(flat, [np.zeros(60, dtype=bool)]) == 1.0
    short = np.ones(20, dtype=bool)
    short[:10] = False  # fewer plain days than a judge needs
    assert pooled_lift([np.full(20, 2.0)], [short]) == 1.0
    wild = np.zeros(60, dtype=bool)
    wild[-5:] = True
    spike = np.where(wild, 500.0, 1.0)
    assert pooled_lift([spike], [wild]) == MAX_LIFT
    fall = np.where(wild, 0.0, 1.0)
    assert pooled_lift([fall], [wild]) == 1.0  # a promotion never lowers the forecast
