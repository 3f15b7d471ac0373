"""Forecasting runs round-trip through chDB: the latest run of a series is what replenishment
and `GET /forecasts/{sku}` read; a run is seen whole; series of older runs stay readable."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from domain.forecasts import QUANTILES, DayDemand, DemandForecast
from projections.clickhouse_facts import ClickHouseFacts
from projections.forecast_store import ForecastRun, ForecastStore


def forecast(run_id: str, made_at: datetime, sku: str, rate: float) -> DemandForecast:
    start = date(2026, 11, 2)
    return DemandForecast(
        sku=sku,
        location="STORE-PAR",
        run_id=run_id,
        made_at=made_at,
        model="CrostonSBA",
        mase=0.7,
        mase_naive=1.0,
        daily_rmse=1.5,
        days=tuple(
            DayDemand(start + timedelta(days=n), rate, tuple(rate + q for q in QUANTILES))
            for n in range(7)
        ),
    )


def test_the_latest_run_of_each_series_is_read_back_whole(facts: ClickHouseFacts) -> None:
    store = ForecastStore(facts.client)
    assert store.latest_run() is None and store.latest_all() == []
    first = datetime(2026, 11, 1, 6, tzinfo=UTC)
    second = first + timedelta(days=1)
    store.write(
        ForecastRun("r1", first, date(2026, 11, 1), 7, 2, 0.1, True),
        [forecast("r1", first, "A-30", 1.0), forecast("r1", first, "B-50", 2.0)],
    )
    store.write(
        ForecastRun("r2", second, date(2026, 11, 2), 7, 1, 0.1, True),
        [forecast("r2", second, "A-30", 3.0)],
    )
    latest = store.latest("A-30", "STORE-PAR")
    assert latest is not None and latest.run_id == "r2" and latest.days[0].mean == 3.0
    assert latest == forecast("r2", second, "A-30", 3.0)
    older = store.latest("B-50", "STORE-PAR")
    assert older is not None and older.run_id == "r1" and len(older.days) == 7
    assert store.latest("B-50", "STORE-LYO") is None
    run = store.latest_run()
    assert run is not None and run.run_id == "r2" and run.censored
    assert [f.sku for f in store.latest_all("STORE-PAR")] == ["A-30"]
    assert store.latest_all("STORE-LYO") == []
    assert latest.mean_between(date(2026, 11, 2), date(2026, 11, 4)) == 6.0
    assert latest.mean_between(date(2026, 11, 8), date(2026, 11, 11)) == 9.0  # past: its rate
    assert latest.demand_at_service_level(date(2026, 11, 2), date(2026, 11, 6), 0.5) == 12.0
