"""Queries answered straight from the ledger's aggregates: stock of a SKU (strongly
consistent: every committed command counts), a reservation, a product, the locations. The
projected availability, as fresh as the read models, is api/read_model_routes.py's."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api.access import principal_of, staff_view
from api.caller_bounds import require_may_see_preorder, require_may_see_reservation
from api.json_answers import json_answer
from api.query_route import QueryRoute
from api.request_state import runtime_of, uuid_path_parameter
from service_layer import ledger_queries

FROM_THE_LEDGER = {"source": "ledger"}  # strongly consistent, unlike a projected answer


def _today() -> date:
    return datetime.now(tz=UTC).date()


async def ledger_stock_of_sku(request: Request) -> Response:
    sku = request.path_params["sku"]
    ledger = runtime_of(request).ledger
    found = await run_in_threadpool(ledger_queries.stock_across_locations, ledger, sku, _today())
    return json_answer({**staff_view(principal_of(request), found), **FROM_THE_LEDGER})


async def ledger_stock_at_location(request: Request) -> Response:
    sku, location = request.path_params["sku"], request.path_params["location"]
    ledger = runtime_of(request).ledger
    found = await run_in_threadpool(
        ledger_queries.stock_at_location, ledger, sku, location, _today()
    )
    return json_answer({**found, **FROM_THE_LEDGER})


async def reservation(request: Request) -> Response:
    reservation_id = uuid_path_parameter(request, "reservation_id")
    ledger = runtime_of(request).ledger
    found = await run_in_threadpool(ledger_queries.reservation, ledger, reservation_id)
    require_may_see_reservation(principal_of(request), found)
    return json_answer(found)


async def preorder(request: Request) -> Response:
    preorder_id = uuid_path_parameter(request, "preorder_id")
    ledger = runtime_of(request).ledger
    found = await run_in_threadpool(ledger_queries.preorder, ledger, preorder_id)
    require_may_see_preorder(principal_of(request), found)
    return json_answer(found)


async def product(request: Request) -> Response:
    ledger = runtime_of(request).ledger
    code = request.path_params["product_code"]
    return json_answer(await run_in_threadpool(ledger_queries.product, ledger, code))


async def locations(request: Request) -> Response:
    ledger = runtime_of(request).ledger
    found: list[dict[str, Any]] = await run_in_threadpool(ledger_queries.locations, ledger)
    return json_answer({"locations": found})


LEDGER_STOCK = (
    "Read from the stock aggregates in the ledger: strongly consistent, every command "
    'committed before the read counts (`"source": "ledger"`). For a faster answer from the '
    "projected read model, which may lag the ledger, see /availability/{sku}."
)
LEDGER_ROUTES = [
    QueryRoute(
        "/skus/{sku}/stock",
        ledger_stock_of_sku,
        "Stock of a SKU across all locations, from the ledger (strongly consistent)",
        "stock",
        description=LEDGER_STOCK,
    ),
    QueryRoute(
        "/skus/{sku}/stock/{location}",
        ledger_stock_at_location,
        "Stock of a SKU at one location, per batch, from the ledger (strongly consistent)",
        "stock",
        description=LEDGER_STOCK,
    ),
    QueryRoute(
        "/reservations/{reservation_id}",
        reservation,
        "A reservation and its lines",
        "reservations",
    ),
    QueryRoute(
        "/preorders/{preorder_id}",
        preorder,
        "A pre-order: waiting on its shipment, allocated, confirmed or released",
        "preorders",
    ),
    QueryRoute("/products/{product_code}", product, "A product and its variants", "catalog"),
    QueryRoute("/locations", locations, "Every registered location", "locations"),
]
