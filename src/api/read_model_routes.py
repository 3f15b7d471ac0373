"""Queries answered from the read models only (hot views, ClickHouse facts): projected, so
as fresh as the projection. Every answer says so (`"source": "projected"`) and how far the
model is behind the ledger: its log position, the ledger's head, and the gap in events. The
strongly consistent stock, read from the ledger's aggregates, is api/ledger_routes.py's."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api.access import nearest_for, principal_of, staff_view
from api.problems import ApiProblem
from api.query_parameters import (
    Parameter,
    choice,
    code,
    codes,
    coordinate,
    day,
    whole,
)
from api.query_route import READ_MODEL_PROBLEMS, Endpoint, QueryRoute
from api.request_state import runtime_of
from domain.channel_rules import CHANNELS
from projections import analytics, order_analytics, projected_stock
from projections.hot_view_store import HotViewStore
from service_layer.read_side import ReadSide
from service_layer.served_models import Served, served_analytics, served_hot_views
from streams.embedded_driver import CONSUMER

if TYPE_CHECKING:  # its clients (ClickHouse, Arrow) load only where facts are configured
    from projections.clickhouse_facts import ClickHouseFacts

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
    runtime = runtime_of(request)
    side: ReadSide | None = runtime.read_side
    if side is None or side.sinks.hot_views is None:
        raise _off("Hot views off", served_hot_views(runtime.settings))
    return side, side.sinks.hot_views


hot_views_of = _hot_views  # the order listings (api/order_routes.py) read the same views


def facts_of(request: Request) -> tuple[ReadSide, ClickHouseFacts]:
    runtime = runtime_of(request)
    side: ReadSide | None = runtime.read_side
    if side is None or side.sinks.facts is None:
        raise _off("Analytics off", served_analytics(runtime.settings))
    return side, side.sinks.facts


def _projected(body: dict[str, Any], position: int, head: int) -> Response:
    """A read model's answer, saying it is projected and how far behind the ledger it is."""
    freshness = {"position": position, "head": head, "behind": max(head - position, 0)}
    answer = {**body, "source": "projected", "log": freshness}
    return Response(orjson.dumps(answer), media_type="application/json")


def _today() -> date:
    return datetime.now(tz=UTC).date()


async def _projected_stock(
    request: Request, answer: Callable[[HotViewStore], dict[str, Any]]
) -> Response:
    side, store = _hot_views(request)

    def read() -> tuple[int, dict[str, Any], int]:
        position = store.position(CONSUMER)
        return position, answer(store), side.head()

    position, body, head = await run_in_threadpool(read)
    return _projected(body, position, head)


async def projected_availability_of_sku(request: Request) -> Response:
    sku, location = request.path_params["sku"], LOCATION.read(request)
    principal = principal_of(request)

    def answer(store: HotViewStore) -> dict[str, Any]:
        if location:
            found = projected_stock.at_location(store, sku, location, _today())
            return {"availability": found}
        summed = projected_stock.across_locations(store, [sku], _today())[0]
        return {"availability": staff_view(principal, summed)}

    return await _projected_stock(request, answer)


async def projected_availability_of_skus(request: Request) -> Response:
    skus, principal = SKUS.value(request), principal_of(request)

    def answer(store: HotViewStore) -> dict[str, Any]:
        summed = projected_stock.across_locations(store, skus, _today())
        return {"skus": [staff_view(principal, one) for one in summed]}

    return await _projected_stock(request, answer)


async def nearest_projected_stock(request: Request) -> Response:
    sku = request.path_params["sku"]
    lat, lon, quantity = LATITUDE.value(request), LONGITUDE.value(request), QUANTITY.value(request)
    principal = principal_of(request)

    def answer(store: HotViewStore) -> dict[str, Any]:
        found = projected_stock.nearest_with_stock(store, sku, lat, lon, quantity, _today())
        return {"nearest": nearest_for(principal, found)}

    return await _projected_stock(request, answer)


def _analytics(question: Callable[[ClickHouseFacts, Request], list[dict[str, Any]]]) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        side, facts = facts_of(request)

        def read() -> tuple[int, list[dict[str, Any]], int]:
            return facts.position(CONSUMER), question(facts, request), side.head()

        position, rows, head = await run_in_threadpool(read)
        return _projected({"rows": rows}, position, head)

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


PERIOD = (FROM, TO)
PROJECTED = (
    "Projected from the ledger's events into the hot views: fast, but as fresh as the "
    'projection (`"source": "projected"`; `log` gives the read model\'s position, the '
    "ledger's head and how many events it is behind). For the strongly consistent figures "
    "read from the ledger itself, see /skus/{sku}/stock."
)
ANALYTICS = (
    "Projected into the ClickHouse facts; `log` says how many events the facts are behind "
    "the ledger."
)


def _read_model(
    path: str,
    endpoint: Endpoint,
    summary: str,
    parameters: tuple[Parameter[Any], ...],
    tag: str = "read-models",
    description: str = PROJECTED,
) -> QueryRoute:
    return QueryRoute(
        path, endpoint, summary, tag, parameters, description, problems=READ_MODEL_PROBLEMS
    )


def _analytics_route(
    path: str,
    question: Callable[[ClickHouseFacts, Request], list[dict[str, Any]]],
    summary: str,
    parameters: tuple[Parameter[Any], ...],
) -> QueryRoute:
    return _read_model(path, _analytics(question), summary, parameters, "analytics", ANALYTICS)


READ_MODEL_ROUTES = [
    _read_model(
        "/availability",
        projected_availability_of_skus,
        "Projected availability of many SKUs at once (skus=A,B), with the read model's lag",
        (SKUS,),
    ),
    _read_model(
        "/availability/{sku}",
        projected_availability_of_sku,
        "Projected availability of a SKU, summed or at ?location=, with the read model's lag",
        (LOCATION,),
    ),
    _read_model(
        "/availability/{sku}/nearest",
        nearest_projected_stock,
        "Nearest location with projected stock to ?lat=&lon=, with the read model's lag",
        (LATITUDE, LONGITUDE, QUANTITY),
    ),
    _analytics_route(
        "/analytics/daily-sales",
        lambda f, r: analytics.daily_sales(
            f, *_period(r), CHANNEL.read(r), SKU.read(r), LOCATION.read(r)
        ),
        "Daily sales by channel, SKU, location",
        (*PERIOD, CHANNEL, SKU, LOCATION),
    ),
    _analytics_route(
        "/analytics/turnover",
        lambda f, r: analytics.turnover(f, *_period(r), SKU.read(r), LOCATION.read(r)),
        "Inventory turnover and days of cover",
        (*PERIOD, SKU, LOCATION),
    ),
    _analytics_route(
        "/analytics/expiring-batches",
        lambda f, r: analytics.expiring_batches(f, _today(), DAYS.value(r), LOCATION.read(r)),
        "Batches expiring within ?days=",
        (DAYS, LOCATION),
    ),
    _analytics_route(
        "/analytics/reservation-conversion",
        lambda f, r: analytics.reservation_conversion(f, *_period(r), CHANNEL.read(r)),
        "Reservation conversion and abandonment",
        (*PERIOD, CHANNEL),
    ),
    _analytics_route(
        "/analytics/sell-through",
        lambda f, r: analytics.sell_through(f, *_period(r), PRODUCT.read(r)),
        "Sell-through by product",
        (*PERIOD, PRODUCT),
    ),
    _analytics_route(
        "/analytics/orders",
        lambda f, r: order_analytics.order_fulfilment(f, *_period(r), CHANNEL.read(r)),
        "Orders' fill rate, split rate, ship-from-store share, pickup no-shows, time to ship",
        (*PERIOD, CHANNEL),
    ),
]
