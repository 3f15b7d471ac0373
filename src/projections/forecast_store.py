"""Forecasting runs in ClickHouse (migrations/clickhouse/0007_demand.sql): `glow forecast run`
writes a run and every series' forecast; replenishment, `GET /forecasts/{sku}` and analysts
read the latest run. Not a projection of the log: a rebuild leaves these tables alone."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from clickhouse_connect.driver.client import Client

from domain.forecasts import QUANTILES, DayDemand, DemandForecast
from projections.columnar_insert import ColumnarInsert

RUN_COLUMNS = ("run_id", "made_at", "history_to", "horizon", "series", "seconds", "censored")
FORECAST_COLUMNS = (
    "run_id",
    "made_at",
    "sku",
    "location",
    "model",
    "mase",
    "mase_naive",
    "daily_rmse",
    "day",
    "mean",
    *(f"q{round(level * 100)}" for level in QUANTILES),
)
_SELECT = ", ".join(FORECAST_COLUMNS)


@dataclass(frozen=True)
class ForecastRun:
    run_id: str
    made_at: datetime
    history_to: date  # the last day of demand history the run learned from
    horizon: int  # days forecast
    series: int
    seconds: float
    censored: bool  # unmet demand (refusals for lack of stock) counted as demand


class ForecastStore:
    """The runs and forecasts of one ClickHouse database (chDB in process, or a server).
    A chDB client is one connection per process: `lock` serialises this store's use of it
    with the other writers sharing the client."""

    def __init__(
        self, client: Client, database: str | None = None, lock: threading.Lock | None = None
    ) -> None:
        self.client = client
        self.database = database or client.database or "default"
        self.lock = lock or threading.Lock()
        self._columns = ColumnarInsert(client, self.database)

    def write(self, run: ForecastRun, forecasts: Iterable[DemandForecast]) -> None:
        """The forecasts first, then the run: a reader sees a run only once it is whole."""
        rows = [
            (
                f.run_id,
                f.made_at,
                f.sku,
                f.location,
                f.model,
                f.mase,
                f.mase_naive,
                f.daily_rmse,
                d.day,
                d.mean,
                *d.quantiles,
            )
            for f in forecasts
            for d in f.days
        ]
        with self.lock:
            for start in range(0, len(rows), 200_000):
                self._columns.insert("forecasts", FORECAST_COLUMNS, rows[start : start + 200_000])
            self._columns.insert(
                "forecast_runs",
                RUN_COLUMNS,
                [
                    (
                        run.run_id,
                        run.made_at,
                        run.history_to,
                        run.horizon,
                        run.series,
                        run.seconds,
                        int(run.censored),
                    )
                ],
            )

    def latest_run(self) -> ForecastRun | None:
        found = self._query(
            f"SELECT {', '.join(RUN_COLUMNS)} FROM {self._table('forecast_runs')} FINAL"  # noqa: S608
            " ORDER BY made_at DESC, run_id DESC LIMIT 1"
        )
        if not found:
            return None
        run_id, made_at, history_to, horizon, series, seconds, censored = found[0]
        return ForecastRun(
            str(run_id),
            _utc(made_at),
            history_to,
            int(horizon),
            int(series),
            seconds,
            bool(censored),
        )

    def latest(self, sku: str, location: str) -> DemandForecast | None:
        """This series' forecast in the latest run that forecast it."""
        found = self.latest_for_sku(sku, location)
        return found[0] if found else None

    def latest_for_sku(self, sku: str, location: str | None = None) -> list[DemandForecast]:
        """The SKU's forecast at every location (or at `location`) in the latest run that
        forecast it there."""
        runs = self._table("forecast_runs")
        table = self._table("forecasts")
        at = "" if location is None else " AND location = {l:String}"
        rows = self._query(
            f"SELECT {_SELECT} FROM {table} FINAL"  # noqa: S608 - known tables
            f" WHERE sku = {{s:String}}{at} AND run_id = ("
            f"  SELECT f.run_id FROM {table} AS f FINAL"
            f"  INNER JOIN {runs} AS r FINAL ON r.run_id = f.run_id"
            f"   WHERE sku = {{s:String}}{at}"
            "   ORDER BY r.made_at DESC, r.run_id DESC LIMIT 1)"
            " ORDER BY location, day",
            {"s": sku, "l": location or ""},
        )
        return _forecasts(rows)

    def latest_all(self, location: str | None = None) -> list[DemandForecast]:
        """Every series of the latest run (at one location, when named)."""
        run = self.latest_run()
        if run is None:
            return []
        where = "run_id = {r:String}" + (" AND location = {l:String}" if location else "")
        rows = self._query(
            f"SELECT {_SELECT} FROM {self._table('forecasts')} FINAL WHERE {where}"  # noqa: S608
            " ORDER BY sku, location, day",
            {"r": run.run_id, "l": location or ""},
        )
        return _forecasts(rows)

    def _query(self, sql: str, parameters: dict[str, Any] | None = None) -> Sequence[Any]:
        with self.lock:
            result = self.client.query(sql, parameters=parameters or {})
        rows: Sequence[Any] = result.result_rows
        return rows

    def _table(self, table: str) -> str:
        return f"`{self.database}`.`{table}`"


def _forecasts(rows: Sequence[Any]) -> list[DemandForecast]:
    """Rows ordered by series then day -> one forecast a series."""
    out: list[DemandForecast] = []
    series: list[Any] = []
    for row in [*rows, None]:
        if series and (row is None or tuple(row[2:4]) != tuple(series[0][2:4])):
            first = series[0]
            out.append(
                DemandForecast(
                    sku=str(first[2]),
                    location=str(first[3]),
                    run_id=str(first[0]),
                    made_at=_utc(first[1]),
                    model=str(first[4]),
                    mase=float(first[5]),
                    mase_naive=float(first[6]),
                    daily_rmse=float(first[7]),
                    days=tuple(
                        DayDemand(r[8], float(r[9]), tuple(float(q) for q in r[10:]))
                        for r in series
                    ),
                )
            )
            series = []
        if row is not None:
            series.append(row)
    return out


def _utc(moment: datetime) -> datetime:
    """ClickHouse hands DateTime64(3, 'UTC') back naive on some clients."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
