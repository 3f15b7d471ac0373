"""A SKU's demand forecast at a location, as a forecasting run left it (`glow forecast run`,
stored in ClickHouse's `forecasts` table): the model chosen by backtest, its error, and each
day's mean demand and quantiles. Replenishment reads it through `ForecastSource`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from math import sqrt
from statistics import NormalDist
from typing import Protocol

QUANTILES = (0.5, 0.8, 0.9, 0.95, 0.99)  # the levels stored for each day (q50 ... q99)


@dataclass(frozen=True)
class DayDemand:
    """One day's forecast demand in units: the mean and the quantiles in `QUANTILES` order."""

    day: date
    mean: float
    quantiles: tuple[float, ...]

    def quantile(self, level: float) -> float:
        """The stored quantile at `level` (one of `QUANTILES`)."""
        try:
            return self.quantiles[QUANTILES.index(level)]
        except ValueError:
            raise ValueError(f"no quantile {level} stored; expected one of {QUANTILES}") from None


@dataclass(frozen=True)
class DemandForecast:
    sku: str
    location: str
    run_id: str
    made_at: datetime
    model: str  # the chosen model's name, e.g. "SeasonalNaive", "CrostonSBA"
    mase: float  # the chosen model's backtest MASE
    mase_naive: float  # seasonal naive's on the same backtest
    daily_rmse: float  # the chosen model's backtest root mean squared error, units a day
    days: tuple[DayDemand, ...]  # consecutive days from the day after the history

    def mean_between(self, start: date, end: date) -> float:
        """Expected demand over the days in [start, end); days past the horizon at the
        horizon's average daily rate."""
        if end <= start or not self.days:
            return 0.0
        total = sum(d.mean for d in self.days if start <= d.day < end)
        last = self.days[-1].day
        if end.toordinal() - 1 > last.toordinal():
            beyond = end.toordinal() - max(start.toordinal(), last.toordinal() + 1)
            total += beyond * self.daily_rate()
        return total

    def daily_rate(self) -> float:
        """The horizon's average daily demand."""
        return sum(d.mean for d in self.days) / len(self.days) if self.days else 0.0

    def demand_at_service_level(self, start: date, end: date, service_level: float) -> float:
        """Demand over [start, end) that is not exceeded with probability `service_level`:
        the expected demand plus z standard errors, the backtest's daily error growing with the
        square root of the days (errors taken as independent day to day)."""
        if not 0.5 <= service_level < 1:
            raise ValueError(f"service level must be in [0.5, 1), got {service_level}")
        days = max(0, end.toordinal() - start.toordinal())
        z = NormalDist().inv_cdf(service_level)
        return self.mean_between(start, end) + z * self.daily_rmse * sqrt(days)


class ForecastSource(Protocol):
    """Where replenishment reads forecasts: the latest run's forecast of each series."""

    def latest(self, sku: str, location: str) -> DemandForecast | None: ...

    def latest_all(self, location: str | None = None) -> list[DemandForecast]: ...
