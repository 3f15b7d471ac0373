"""A forecasting run: every series' demand target (censored or not), its model chosen by
backtest, its forecast and quantiles for the horizon, as `DemandForecast`s ready for the
ForecastStore. Series are forecast in chunks over a process pool, one process a core, forked
once the history is read (the children touch no database, only numpy and statsforecast)."""

from __future__ import annotations

import math
import os
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from multiprocessing import get_context

import numpy as np
from numpy.typing import NDArray

from domain.forecasts import DayDemand, DemandForecast
from forecasting.censoring import demand_target
from forecasting.promotion_lift import deflated, lifted, pooled_lift
from forecasting.selection import WINDOWS, SeriesForecast, forecast
from projections.demand_history import DemandHistory, SeriesHistory, promoted_days
from projections.forecast_store import ForecastRun

SEASON = 7  # daily store demand: weekly seasonality
CHUNK = 250  # the most series a worker forecasts per task
MIN_CHUNK = 20  # fewer series a task cost more in passing than in forecasting

Floats = NDArray[np.float64]


@dataclass(frozen=True)
class RunOutcome:
    run: ForecastRun
    forecasts: list[DemandForecast]
    models: dict[str, int]  # how many series chose each model
    mean_mase: float  # over the series with a backtest MASE
    mean_mase_naive: float  # seasonal naive's on the same series
    promotion_lift: float  # demand on promotion days over the baseline (1: none learnt)


def forecast_chunk(
    targets: Sequence[Floats], horizon: int, season: int = SEASON, windows: int = WINDOWS
) -> list[SeriesForecast]:
    return [forecast(y, horizon, season, windows) for y in targets]


def forecast_all(
    targets: Sequence[Floats],
    horizon: int,
    season: int = SEASON,
    workers: int | None = None,
    progress: Callable[[int], None] = lambda done: None,
) -> list[SeriesForecast]:
    """Every target's forecast, in order; `progress(n)` as each chunk of n series is done."""
    workers = workers or os.cpu_count() or 1
    size = min(CHUNK, max(MIN_CHUNK, math.ceil(len(targets) / (4 * workers))))
    chunks = [list(targets[i : i + size]) for i in range(0, len(targets), size)]
    if workers == 1 or len(chunks) <= 1:
        done: list[SeriesForecast] = []
        for chunk in chunks:
            done += forecast_chunk(chunk, horizon, season)
            progress(len(chunk))
        return done
    with ProcessPoolExecutor(min(workers, len(chunks)), mp_context=get_context("fork")) as pool:
        futures = [pool.submit(forecast_chunk, chunk, horizon, season) for chunk in chunks]
        out: list[SeriesForecast] = []
        for chunk, future in zip(chunks, futures, strict=True):
            out += future.result()
            progress(len(chunk))
        return out


def target_of(series: SeriesHistory, censored: bool) -> Floats:
    return demand_target(
        series.sold, series.unmet, series.stock_out, series.out_all_day, censored=censored
    )


def run(
    history: DemandHistory,
    horizon: int,
    censored: bool,
    workers: int | None = None,
    progress: Callable[[int], None] = lambda done: None,
    now: Callable[[], datetime] = lambda: datetime.now(tz=UTC),
) -> RunOutcome:
    started = time.perf_counter()
    moment = now()
    made_at = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    run_id = str(uuid.uuid4())
    targets = [target_of(s, censored) for s in history.series]
    lift = pooled_lift(targets, [s.on_promotion for s in history.series])
    baselines = [
        deflated(t, s.on_promotion, lift) for t, s in zip(targets, history.series, strict=True)
    ]
    found = forecast_all(baselines, horizon, SEASON, workers, progress)
    first = history.to_day + timedelta(days=1)
    forecasts = [
        _demand_forecast(series, result, run_id, made_at, first, lift)
        for series, result in zip(history.series, found, strict=True)
    ]
    measured = [f for f in forecasts if not math.isnan(f.mase) and not math.isnan(f.mase_naive)]
    seconds = time.perf_counter() - started
    return RunOutcome(
        ForecastRun(run_id, made_at, history.to_day, horizon, len(forecasts), seconds, censored),
        forecasts,
        dict(Counter(f.model for f in forecasts).most_common()),
        statistics.fmean(f.mase for f in measured) if measured else math.nan,
        statistics.fmean(f.mase_naive for f in measured) if measured else math.nan,
        lift,
    )


def _demand_forecast(
    series: SeriesHistory,
    result: SeriesForecast,
    run_id: str,
    made_at: datetime,
    first: date,
    lift: float = 1.0,
) -> DemandForecast:
    """The series' forecast, raised by `lift` on the days its product's promotions run."""
    choice = result.choice
    promoted = promoted_days(series.promotions, first, len(result.mean))
    mean, quantiles = lifted(result.mean, promoted, lift), lifted(result.quantiles, promoted, lift)
    return DemandForecast(
        sku=series.sku,
        location=series.location,
        run_id=run_id,
        made_at=made_at,
        model=choice.model,
        mase=choice.mase,
        mase_naive=choice.mase_naive,
        daily_rmse=choice.daily_rmse,
        days=tuple(
            DayDemand(
                first + timedelta(days=n),
                round(float(mean[n]), 4),
                tuple(round(float(q), 4) for q in quantiles[n]),
            )
            for n in range(len(mean))
        ),
    )
