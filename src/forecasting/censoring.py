"""Censored demand: the daily series a forecast learns from, so stock-outs do not teach it that
customers stopped wanting the product.

Sales are demand *censored* by stock: on a day the shelf ran empty, customers who asked and
were refused are not in the sales. The ledger records them (refused reservations and orders, as
unmet demand), so with censoring on (GLOW_FORECAST_CENSORED, the default):

1. on a stock-out day, demand = units sold + unmet units recorded that day;
2. on a day the location had no stock at all (empty at the previous day's end and at this
   one's, nothing sold), refusals undercount demand (many customers look at an empty shelf and
   leave without asking), so where (1) is still below what the series sells on uncensored days
   it is imputed: the mean of the same weekday over the last 4 uncensored weeks before it (the
   mean of every uncensored day before it when no such weekday exists; left as (1) when the
   series has no uncensored day before).

With censoring off the target is the units sold, as a sales-only system would have it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

SAME_WEEKDAYS = 4  # uncensored same weekdays averaged for an out-of-stock day
LOOKBACK_WEEKS = 13  # how far back those are looked for

Floats = NDArray[np.float64]
Flags = NDArray[np.bool_]


def demand_target(
    sold: Floats, unmet: Floats, stock_out: Flags, out_all_day: Flags, censored: bool = True
) -> Floats:
    """The demand series to learn from (see the module's docstring)."""
    if not censored:
        return np.asarray(sold, dtype=np.float64).copy()
    demand = np.asarray(sold, dtype=np.float64) + np.where(stock_out, unmet, 0.0)
    for day in np.flatnonzero(out_all_day):
        usual = _usual(demand, stock_out, int(day))
        if usual is not None and demand[day] < usual:
            demand[day] = usual
    return demand


def _usual(demand: Floats, stock_out: Flags, day: int) -> float | None:
    """Mean of the same weekday over the last SAME_WEEKDAYS uncensored weeks before `day`."""
    same = [
        day - 7 * week
        for week in range(1, LOOKBACK_WEEKS + 1)
        if day - 7 * week >= 0 and not stock_out[day - 7 * week]
    ][:SAME_WEEKDAYS]
    if same:
        return float(demand[same].mean())
    before = ~stock_out[:day]
    return float(demand[:day][before].mean()) if before.any() else None
