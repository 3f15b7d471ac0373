"""A stock-out does not teach the forecast that customers stopped wanting the product: a steady
series whose shelf is empty for its last two weeks, with the refusals recorded as unmet demand,
is forecast near its true rate with censoring on, and dragged down with it off."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from demo.demand import table
from forecasting.censoring import demand_target
from forecasting.run import run
from projections.demand_history import SOLD, STOCK, UNMET, DemandHistory, assemble

RATE = 6.0  # units a day the customers want
DAYS = 26 * 7
OUT = 14  # the last two weeks: no stock
FIRST = date(2026, 5, 4)


def steady_history(asked_share: float = 0.4) -> DemandHistory:
    """Sales of Poisson(RATE) a day until the stock runs out OUT days before the end; then
    `asked_share` of the customers ask and are refused (recorded as unmet demand)."""
    rng = np.random.default_rng(3)
    wanted = rng.poisson(RATE, DAYS).astype(float)
    units: dict[tuple[str, str, str, str, date], float] = {}
    selling = DAYS - OUT
    units[(STOCK, "A-30", "STORE-PAR", "", FIRST)] = float(wanted[:selling].sum())
    for n in range(DAYS):
        day = FIRST + timedelta(days=n)
        if n < selling:
            units[(SOLD, "A-30", "STORE-PAR", "pos", day)] = wanted[n]
            units[(STOCK, "A-30", "STORE-PAR", "", day)] = (
                units.get((STOCK, "A-30", "STORE-PAR", "", day), 0.0) - wanted[n]
            )
        else:
            units[(UNMET, "A-30", "STORE-PAR", "pos", day)] = round(wanted[n] * asked_share)
    return assemble(table(units), FIRST + timedelta(days=DAYS - 1), {})


def test_the_empty_shelf_days_are_flagged_stock_outs() -> None:
    series = steady_history().series[0]
    assert series.days == DAYS
    # out from the last selling day's end (its stock sold out), empty all day after it
    assert series.stock_out[-OUT - 1 :].all() and not series.stock_out[: -OUT - 1].any()
    assert series.out_all_day[-OUT:].all() and not series.out_all_day[:-OUT].any()
    assert series.sold[-OUT:].sum() == 0 and series.unmet[-OUT:].sum() > 0


@pytest.mark.parametrize("workers", [1, 2])
def test_censored_demand_keeps_the_forecast_near_the_true_rate(workers: int) -> None:
    history = steady_history()
    censored = run(history, 28, censored=True, workers=workers).forecasts[0]
    sales_only = run(history, 28, censored=False, workers=workers).forecasts[0]
    assert abs(censored.daily_rate() - RATE) <= 0.15 * RATE, censored.daily_rate()
    assert sales_only.daily_rate() <= 0.6 * RATE, sales_only.daily_rate()
    assert censored.run_id != sales_only.run_id
    assert len(censored.days) == 28 and censored.days[0].day == history.to_day + timedelta(days=1)


def test_refusals_count_as_demand_and_empty_days_are_imputed_from_the_same_weekday() -> None:
    sold = np.array([5.0] * 14 + [2.0, 0.0, 0.0])
    unmet = np.array([0.0] * 14 + [3.0, 1.0, 9.0])
    stock_out = np.array([False] * 14 + [True, True, True])
    out_all_day = np.array([False] * 15 + [True, True])
    target = demand_target(sold, unmet, stock_out, out_all_day)
    assert target[14] == 5.0  # sold + refused on the day it ran out
    assert target[15] == 5.0  # an empty day: imputed from the same weekday, above its 1 refusal
    assert target[16] == 9.0  # more were refused than usually buy: the refusals stand
    assert demand_target(sold, unmet, stock_out, out_all_day, censored=False).tolist() == (
        sold.tolist()
    )


def test_an_empty_day_with_no_uncensored_day_before_stays_as_recorded() -> None:
    target = demand_target(
        np.zeros(3), np.array([2.0, 0.0, 1.0]), np.ones(3, bool), np.ones(3, bool)
    )
    assert target.tolist() == [2.0, 0.0, 1.0]
