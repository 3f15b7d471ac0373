"""Per-series model choice by a rolling-origin backtest, and the chosen model's forecast with
quantiles.

The backtest cuts the series at up to `windows` origins, one horizon apart, ending one horizon
before its last day; every candidate (forecasting/models.py) forecasts the horizon after each
origin from the days before it. Errors are scaled as MASE: the mean absolute error over the
in-sample mean absolute seasonal difference of the days before the origin (M4's scale), so a
model at 1.0 is as good in the future as seasonal naive was in the past. The candidate with the
lowest mean MASE is chosen (by mean absolute error where the series never changed, so no scale
exists); seasonal naive's MASE on the same windows is kept beside it.

Quantiles are conformal: the chosen model's backtest residuals (actual - forecast), pooled over
the windows and horizon steps (a few windows give too few per step), are added to its forecast
at each level; clipped at zero and made monotone in the level. Series too short to backtest get
seasonal naive (or the historic average, shorter than a season) with in-sample residuals."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from domain.forecasts import QUANTILES
from forecasting.models import (
    BASELINE,
    COMBINATION,
    HISTORIC_AVERAGE,
    SEASONAL_NAIVE,
    candidates,
    combine,
    forecast_with,
)

WINDOWS = 2  # backtest origins per series
SWITCH_MARGIN = 0.3  # another model replaces the combination only when this much better
LEVELS = np.asarray(QUANTILES, dtype=np.float64)

Floats = NDArray[np.float64]


@dataclass(frozen=True)
class Choice:
    model: str
    mase: float  # the chosen model's mean backtest MASE (nan: no backtest or no scale)
    mase_naive: float  # seasonal naive's on the same windows
    daily_rmse: float  # the chosen model's backtest root mean squared error per day
    residuals: Floats  # actual - forecast, every backtest day


@dataclass(frozen=True)
class SeriesForecast:
    choice: Choice
    mean: Floats  # h days
    quantiles: Floats  # h x len(QUANTILES)


def scale(train: Floats, season: int) -> float:
    """The in-sample mean absolute seasonal difference (0 when the series never changes)."""
    if len(train) <= season:
        return 0.0
    return float(np.mean(np.abs(train[season:] - train[:-season])))


def origins(points: int, h: int, season: int, windows: int = WINDOWS) -> list[int]:
    """Backtest origins, oldest first, each leaving at least two seasons to learn from."""
    usable = max(0, (points - 2 * season) // h)
    return [points - k * h for k in range(min(windows, usable), 0, -1)]


def backtest(y: Floats, h: int, season: int, windows: int = WINDOWS) -> Choice:
    cuts = origins(len(y), h, season, windows)
    if not cuts:
        return _unbacktested(y, season)
    scales = [scale(y[:o], season) for o in cuts]
    actual = np.asarray([y[cut : cut + h] for cut in cuts])
    predicted = _backtest_forecasts(y, cuts, h, season)
    results: dict[str, tuple[float, float, Floats]] = {}
    for name, forecasts in predicted.items():
        errors = actual - forecasts
        absolute = np.abs(errors).mean(axis=1)
        scaled = [a / s for a, s in zip(absolute, scales, strict=True) if s > 0]
        mase = float(np.mean(scaled)) if scaled else math.nan
        results[name] = (mase, float(absolute.mean()), errors.ravel())
    naive = results[BASELINE]
    if math.isnan(naive[0]):
        best = min(results, key=lambda name: results[name][1])
    else:
        best = min(results, key=lambda name: results[name][0])
    preferred = results.get(COMBINATION)
    if preferred is not None and best != COMBINATION:
        criterion = 1 if math.isnan(naive[0]) else 0
        if results[best][criterion] > (1 - SWITCH_MARGIN) * preferred[criterion]:
            best = COMBINATION
    mase, _, residuals = results[best]
    rmse = float(np.sqrt(np.mean(residuals**2)))
    return Choice(best, mase, naive[0], rmse, residuals)


def forecast(y: Floats, h: int, season: int, windows: int = WINDOWS) -> SeriesForecast:
    """Choose by backtest, then forecast the h days after y with the chosen model."""
    y = np.asarray(y, dtype=np.float64)
    choice = backtest(y, h, season, windows)
    mean = forecast_with(choice.model, y, h, season)
    if mean is None:  # fitted on every window, not on the whole: fall back on the baseline
        fallback = SEASONAL_NAIVE if len(y) >= season else HISTORIC_AVERAGE
        mean = fallback.forecast(y, h, season)
        choice = Choice(fallback.name, math.nan, choice.mase_naive, math.nan, choice.residuals)
    assert mean is not None  # both fallbacks fit any non-empty series
    return SeriesForecast(choice, mean, quantiles(mean, choice.residuals))


def quantiles(mean: Floats, residuals: Floats) -> Floats:
    """h x len(QUANTILES): the forecast plus the residuals' quantile at each level, at least
    zero, never lower at a higher level."""
    spread = np.quantile(residuals, LEVELS) if len(residuals) else np.zeros(len(LEVELS))
    levels = np.maximum(mean[:, None] + spread[None, :], 0.0)
    return np.maximum.accumulate(levels, axis=1)


def holdout(y: Floats, h: int, season: int, windows: int = WINDOWS) -> tuple[float, float]:
    """The MASE of the chosen model and of seasonal naive on the last h points, choosing on
    the points before them (what a backtest of the whole method measures)."""
    y = np.asarray(y, dtype=np.float64)
    train, actual = y[:-h], y[-h:]
    chosen = forecast(train, h, season, windows).mean
    naive = SEASONAL_NAIVE.forecast(train, h, season)
    measure = scale(train, season)
    if naive is None or measure <= 0:
        return math.nan, math.nan
    return (
        float(np.mean(np.abs(actual - chosen)) / measure),
        float(np.mean(np.abs(actual - naive)) / measure),
    )


def _backtest_forecasts(y: Floats, cuts: list[int], h: int, season: int) -> dict[str, Floats]:
    """Each candidate's forecasts (windows x h) where it fitted every window; the
    combination's from its members'."""
    out: dict[str, Floats] = {}
    for candidate in candidates(len(y) - h, season):
        rows = []
        for cut in cuts:
            predicted = candidate.forecast(y[:cut], h, season)
            if predicted is None:
                break
            rows.append(predicted)
        else:
            out[candidate.name] = np.asarray(rows)
    combined = combine(out)
    if combined is not None:
        out[COMBINATION] = combined
    return out


def _unbacktested(y: Floats, season: int) -> Choice:
    if len(y) > season:
        residuals = y[season:] - y[:-season]
        model = BASELINE
    else:
        residuals = y - y.mean() if len(y) else np.zeros(0)
        model = HISTORIC_AVERAGE.name
    rmse = float(np.sqrt(np.mean(residuals**2))) if len(residuals) else 0.0
    return Choice(model, math.nan, math.nan, rmse, residuals)
