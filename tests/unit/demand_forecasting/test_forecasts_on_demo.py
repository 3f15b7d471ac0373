"""On the demo business (a year of seasonal, promoted cosmetics sales, at chain scale: 30
products bought by 20,000 customers, about 1.3 units a day per SKU and location): the demand
history is seasonal and promoted as the generator made it, and the forecasts chosen per series
by backtest beat seasonal naive on the last four weeks, held out."""

from __future__ import annotations

import math
import statistics
from functools import cache

import numpy as np

from demo.business import Business, generate
from demo.demand import demand_history
from forecasting.run import SEASON, target_of
from forecasting.selection import holdout
from projections.demand_history import DemandHistory


@cache
def business() -> Business:
    return generate(products=30, customers=20_000, seed=7)


@cache
def history() -> DemandHistory:
    return demand_history(business())


def test_every_series_is_dense_from_its_first_day_to_the_last() -> None:
    found = history()
    assert len(found.series) > 200
    for series in found.series:
        assert series.day(series.days - 1) == found.to_day
        assert series.sold[0] > 0 or series.returned[0] > 0  # it starts on its first fact
    total = sum(float(s.sold.sum()) for s in found.series)
    demo = business()
    assert total == sum(
        h.value for h in demo.happenings if h.kind == "purchase" and h.at < demo.end
    )


def test_stores_sell_most_on_saturdays_and_everyone_most_in_december() -> None:
    by_weekday = np.zeros(7)
    december = ordinary = 0.0
    december_days = ordinary_days = 0
    for series in history().series:
        if not series.location.startswith("STORE-"):
            continue
        for n in range(series.days):
            day = series.day(n)
            by_weekday[day.weekday()] += series.sold[n]
            if day.month == 12:
                december += series.sold[n]
                december_days += 1
            elif day.month in (2, 3, 4, 10):
                ordinary += series.sold[n]
                ordinary_days += 1
    assert by_weekday.argmax() == 5 and by_weekday[5] > 1.5 * by_weekday[:5].mean()
    assert december / december_days > 1.4 * ordinary / ordinary_days


def test_a_promotion_lifts_its_products_sales_in_its_window() -> None:
    lifted = []
    for series in history().series:
        promoted = series.on_promotion
        if promoted.any() and not promoted.all():
            lifted.append((series.sold[promoted].mean(), series.sold[~promoted].mean()))
    assert len(lifted) >= 4
    during = sum(d for d, _ in lifted)
    outside = sum(o for _, o in lifted)
    assert during > 1.5 * outside


def test_chosen_models_beat_seasonal_naive_on_the_held_out_weeks() -> None:
    chosen, naive = [], []
    for series in history().series:
        if series.days < 120:
            continue
        mase, mase_naive = holdout(target_of(series, censored=True), 28, SEASON)
        if not math.isnan(mase):
            chosen.append(mase)
            naive.append(mase_naive)
    assert len(chosen) > 200
    assert statistics.fmean(chosen) <= 0.9 * statistics.fmean(naive), (
        statistics.fmean(chosen),
        statistics.fmean(naive),
    )
