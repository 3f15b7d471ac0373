"""The candidate models a series is forecast with (statsforecast's C++ implementations), chosen
per series by backtest (forecasting/selection.py).

Daily store series get the fast set: seasonal naive (the baseline), the exponential smoothing
family (simple, and seasonal by weekday), a seasonal window average, and the Croston-type models
for intermittent demand (Croston SBA, TSB, ADIDA), and the combination (the mean) of seasonal
exponential smoothing, the seasonal window average and ADIDA: combinations are the classic
winner of the M competitions, and on the demo's store series it beats each of its members.
AutoETS and AutoTheta cost a thousand times
more per series (AutoETS with a weekly season: 15 daily series a second), so they join only
short series of a long season (at most SLOW_MODELS_MAX_POINTS points, a season of at least
SLOW_MODELS_MIN_SEASON: monthly sales), where they are what beats seasonal naive."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from statsforecast.models import (
    ADIDA,
    TSB,
    AutoETS,
    AutoTheta,
    CrostonSBA,
    HistoricAverage,
    SeasonalExponentialSmoothingOptimized,
    SeasonalNaive,
    SeasonalWindowAverage,
    SimpleExponentialSmoothingOptimized,
)

SLOW_MODELS_MAX_POINTS = 200  # AutoETS / AutoTheta only on series this short
SLOW_MODELS_MIN_SEASON = 12  # and of a season this long (monthly data, not daily)
BASELINE = "SeasonalNaive"
AVERAGE = "HistoricAverage"  # for series too short for anything else

Floats = NDArray[np.float64]


@dataclass(frozen=True)
class Candidate:
    name: str
    build: Callable[[int], Any]  # season length -> a statsforecast model
    min_points: Callable[[int], int]  # season length -> the shortest series it fits

    def forecast(self, y: Floats, h: int, season: int) -> Floats | None:
        """The model's mean forecast for the h days after y, never below zero (demand);
        None when it cannot fit this series."""
        if len(y) < self.min_points(season):
            return None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                mean = self.build(season).forecast(y=y, h=h)["mean"]
        except (ValueError, ArithmeticError, np.linalg.LinAlgError):
            return None
        found = np.asarray(mean, dtype=np.float64)
        if found.shape != (h,) or not np.isfinite(found).all():
            return None
        return np.maximum(found, 0.0)


def _seasons(count: int) -> Callable[[int], int]:
    return lambda season: count * season


SEASONAL_NAIVE = Candidate(BASELINE, SeasonalNaive, _seasons(1))
FAST = (
    SEASONAL_NAIVE,
    Candidate("SES", lambda s: SimpleExponentialSmoothingOptimized(), lambda s: 2),
    Candidate("SeasonalES", SeasonalExponentialSmoothingOptimized, _seasons(2)),
    Candidate("SeasonalWindowAverage", lambda s: SeasonalWindowAverage(s, 4), _seasons(4)),
    Candidate("CrostonSBA", lambda s: CrostonSBA(), lambda s: 2),
    Candidate("TSB", lambda s: TSB(alpha_d=0.1, alpha_p=0.1), lambda s: 2),
    Candidate("ADIDA", lambda s: ADIDA(), lambda s: 2),
)
SLOW = (
    Candidate("AutoETS", lambda s: AutoETS(season_length=s), _seasons(2)),
    Candidate("AutoTheta", lambda s: AutoTheta(season_length=s), _seasons(2)),
)
HISTORIC_AVERAGE = Candidate(AVERAGE, lambda s: HistoricAverage(), lambda s: 1)
NAMES = (*(c.name for c in (*FAST, *SLOW, HISTORIC_AVERAGE)), "Combination")


COMBINATION = "Combination"  # the mean forecast of COMBINED
COMBINED = ("SeasonalES", "SeasonalWindowAverage", "ADIDA")


def combine(forecasts: dict[str, Floats]) -> Floats | None:
    """The combination's forecast from its members' (None unless every member fitted)."""
    if not all(name in forecasts for name in COMBINED):
        return None
    mean: Floats = np.mean([forecasts[name] for name in COMBINED], axis=0)
    return mean


def forecast_with(name: str, y: Floats, h: int, season: int) -> Floats | None:
    """The named model's (or the combination's) forecast of the h days after y."""
    if name == COMBINATION:
        return combine(
            {m: f for m in COMBINED if (f := by_name(m).forecast(y, h, season)) is not None}
        )
    return by_name(name).forecast(y, h, season)


def candidates(points: int, season: int) -> tuple[Candidate, ...]:
    """The models tried on a series of `points` observations, seasonal naive first."""
    affordable = points <= SLOW_MODELS_MAX_POINTS and season >= SLOW_MODELS_MIN_SEASON
    return (*FAST, *SLOW) if affordable else FAST


def by_name(name: str) -> Candidate:
    for candidate in (*FAST, *SLOW, HISTORIC_AVERAGE):
        if candidate.name == name:
            return candidate
    raise ValueError(f"no forecasting model {name!r}; expected one of {NAMES}")
