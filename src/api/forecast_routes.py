"""`GET /forecasts/{sku}?location=`: the latest forecasting run's demand forecast of a SKU, at
every location it is sold from or at one (written by `glow forecast run` into the analytics
database; read through projections/forecast_store.py)."""

from __future__ import annotations

import math
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api.problems import ApiProblem
from api.query_parameters import code
from api.query_route import READ_MODEL_PROBLEMS, QueryRoute
from api.read_model_routes import facts_of
from api.request_state import code_path_parameter
from domain.forecasts import QUANTILES, DemandForecast
from projections.forecast_store import ForecastStore

LOCATION = code("location", description="one location's forecast instead of every location's")


def _number(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 4)


def forecast_body(forecast: DemandForecast) -> dict[str, Any]:
    return {
        "location": forecast.location,
        "model": forecast.model,
        "mase": _number(forecast.mase),
        "mase_naive": _number(forecast.mase_naive),
        "daily_rmse": _number(forecast.daily_rmse),
        "days": [
            {
                "day": d.day.isoformat(),
                "mean": d.mean,
                **{
                    f"q{round(level * 100)}": q
                    for level, q in zip(QUANTILES, d.quantiles, strict=True)
                },
            }
            for d in forecast.days
        ],
    }


async def forecasts_of_sku(request: Request) -> Response:
    sku = code_path_parameter(request, "sku", "SKU code")
    location = LOCATION.read(request)
    _, facts = facts_of(request)
    store = ForecastStore(facts.client)

    def read() -> list[DemandForecast]:
        if location:
            found = store.latest(sku, location)
            return [found] if found else []
        return store.latest_for_sku(sku)

    forecasts = await run_in_threadpool(read)
    if not forecasts:
        where = f" at {location}" if location else ""
        raise ApiProblem(
            404,
            "no-forecast",
            "No forecast",
            f"no forecasting run has forecast {sku}{where}; run `glow forecast run` once the "
            "SKU has demand history",
            sku=sku,
        )
    first = forecasts[0]
    body = {
        "sku": sku,
        "run_id": first.run_id,
        "made_at": first.made_at.isoformat(),
        "forecasts": [forecast_body(f) for f in forecasts],
    }
    return Response(orjson.dumps(body), media_type="application/json")


FORECAST_ROUTES = [
    QueryRoute(
        "/forecasts/{sku}",
        forecasts_of_sku,
        "The latest demand forecast of a SKU per location: model, backtest error, daily mean "
        "and quantiles",
        "analytics",
        (LOCATION,),
        "Written by `glow forecast run` (each series' model chosen by backtest against "
        "seasonal naive); `mase` is the chosen model's backtest MASE, `mase_naive` seasonal "
        "naive's on the same backtest (null where the series was too short to backtest).",
        problems=READ_MODEL_PROBLEMS,
    )
]
