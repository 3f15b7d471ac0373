"""Queries answered from the read models only (hot views, ClickHouse facts). Every answer
says how far the model is behind the log: its position, the log's head, and the gap."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.access import nearest_for, principal_of, staff_view
from api.command_routes import CHANNELS
from api.problems import ApiProblem
from api.query_parameters import (
    Declared,
    choice,
    code,
    codes,
    coordinate,
    day,
    whole,
)
from projections import analytics, stock_queries
from projections.clickhouse_facts import ClickHouseFacts
from projections.hot_view_store import HotViewStore
from service_layer.read_side import ReadSide
from service_layer.served_models import Served, served_analytics, served_hot_views
from streams.embedded_driver import CONSUMER

LOCATION = code("location", description="one location's figures instead of the sum")
SKUS = codes("skus", 500, required=True)
LATITUDE = coordinate("lat", 90, required=True)
LONGITUDE = coordinate("lon", 180, required=True)
QUANTITY = whole("quantity", 1, 1_000_000, 1)
FROM = day("from", description="first day; default 29 days before `to`")
TO = day("to", description="last day; default today")
CHANNEL = choice("channel", CHANNELS)
SKU = code("sku")
PRODUCT = code("product")
DAYS = whole("days", 0, 3650, 30, description="how many days ahead")


def _off(title: str, served: Served) -> ApiProblem:
    """503 saying why this process does not serve the read model, and what to do."""
    return ApiProblem(503, "read-models-off", title, served.why_off)


def _hot_views(request: Request) -> tuple[ReadSide, HotViewStore]:
    runtime = request.app.state.runtime
    side: ReadSide | None = runtime.read_side
    if side is None or side.sinks.hot_views is None:
        raise _off("Hot views off", served_hot_views(runtime.settings))
    return side, side.sinks.hot_views


def _facts(request: Request) -> tuple[ReadSide, ClickHouseFacts]:
    runtime = request.app.state.runtime
    side: ReadSide | None = runtime.read_side
    if side is None or side.sinks.facts is None:
        raise _off("Analytics off", served_analytics(runtime.settings))
    return side, side.sinks.facts


def _answer(body: dict[str, Any], position: int, head: int) -> Response:
    freshness = {"position": position, "head": head, "behind": max(head - position, 0)}
    return Response(orjson.dumps({**body, "log": freshness}), media_type="application/json")


def _today() -> date:
    return datetime.now(tz=UTC).date()


async def _stock(request: Request, answer: Callable[[HotViewStore], dict[str, Any]]) -> Response:
    side, store = _hot_views(request)

    def read() -> tuple[int, dict[str, Any], int]:
        position = store.position(CONSUMER)
        return position, answer(store), side.head()

    position, body, head = await run_in_threadpool(read)
    return _answer(body, position, head)


async def availability_of_sku(request: Request) -> Response:
    sku, location = request.path_params["sku"], LOCATION.read(request)
    principal = principal_of(request)

    def answer(store: HotViewStore) -> dict[str, Any]:
        if location:
            found = stock_queries.at_location(store, sku, location, _today())
            return {"availability": found}
        summed = stock_queries.across_locations(store, [sku], _today())[0]
        return {"availability": staff_view(principal, summed)}

    return await _stock(request, answer)


async def availability_of_skus(request: Request) -> Response:
    skus, principal = SKUS.value(request), principal_of(request)

    def answer(store: HotViewStore) -> dict[str, Any]:
        summed = stock_queries.across_locations(store, skus, _today())
        return {"skus": [staff_view(principal, one) for one in summed]}

    return await _stock(request, answer)


async def nearest_stock(request: Request) -> Response:
    sku = request.path_params["sku"]
    lat, lon, quantity = LATITUDE.value(request), LONGITUDE.value(request), QUANTITY.value(request)
    principal = principal_of(request)

    def answer(store: HotViewStore) -> dict[str, Any]:
        found = stock_queries.nearest_with_stock(store, sku, lat, lon, quantity, _today())
        return {"nearest": nearest_for(principal, found)}

    return await _stock(request, answer)


def _analytics(question: Callable[[ClickHouseFacts, Request], list[dict[str, Any]]]) -> Any:
    async def endpoint(request: Request) -> Response:
        side, facts = _facts(request)

        def read() -> tuple[int, list[dict[str, Any]], int]:
            return facts.position(CONSUMER), question(facts, request), side.head()

        position, rows, head = await run_in_threadpool(read)
        return _answer({"rows": rows}, position, head)

    return endpoint


def _period(request: Request) -> tuple[date, date]:
    """`to` defaults to today, `from` to the 29 days before it; from may not follow to."""
    end = TO.read(request) or _today()
    start = FROM.read(request) or end - timedelta(days=29)
    if start > end:
        raise ApiProblem(
            422,
            "invalid-query",
            "Invalid query parameter",
            f"from={start} is after to={end}; expected from on or before to",
            parameter="from",
        )
    return start, end


READ_ROUTES = [
    Route("/availability", availability_of_skus),
    Route("/availability/{sku}", availability_of_sku),
    Route("/availability/{sku}/nearest", nearest_stock),
    Route(
        "/analytics/daily-sales",
        _analytics(
            lambda f, r: analytics.daily_sales(
                f, *_period(r), CHANNEL.read(r), SKU.read(r), LOCATION.read(r)
            )
        ),
    ),
    Route(
        "/analytics/turnover",
        _analytics(lambda f, r: analytics.turnover(f, *_period(r), SKU.read(r), LOCATION.read(r))),
    ),
    Route(
        "/analytics/expiring-batches",
        _analytics(
            lambda f, r: analytics.expiring_batches(f, _today(), DAYS.value(r), LOCATION.read(r))
        ),
    ),
    Route(
        "/analytics/reservation-conversion",
        _analytics(lambda f, r: analytics.reservation_conversion(f, *_period(r), CHANNEL.read(r))),
    ),
    Route(
        "/analytics/sell-through",
        _analytics(lambda f, r: analytics.sell_through(f, *_period(r), PRODUCT.read(r))),
    ),
]
PERIOD = (FROM, TO)
READ_PARAMETERS: Declared = {
    "/availability": (SKUS,),
    "/availability/{sku}": (LOCATION,),
    "/availability/{sku}/nearest": (LATITUDE, LONGITUDE, QUANTITY),
    "/analytics/daily-sales": (*PERIOD, CHANNEL, SKU, LOCATION),
    "/analytics/turnover": (*PERIOD, SKU, LOCATION),
    "/analytics/expiring-batches": (DAYS, LOCATION),
    "/analytics/reservation-conversion": (*PERIOD, CHANNEL),
    "/analytics/sell-through": (*PERIOD, PRODUCT),
}
READ_QUERIES: list[tuple[str, str, str]] = [
    ("/availability", "Availability of many SKUs at once (skus=A,B)", "read-models"),
    ("/availability/{sku}", "Availability of a SKU, summed or at ?location=", "read-models"),
    ("/availability/{sku}/nearest", "Nearest location with stock to ?lat=&lon=", "read-models"),
    ("/analytics/daily-sales", "Daily sales by channel, SKU, location", "analytics"),
    ("/analytics/turnover", "Inventory turnover and days of cover", "analytics"),
    ("/analytics/expiring-batches", "Batches expiring within ?days=", "analytics"),
    ("/analytics/reservation-conversion", "Reservation conversion and abandonment", "analytics"),
    ("/analytics/sell-through", "Sell-through by product", "analytics"),
]
