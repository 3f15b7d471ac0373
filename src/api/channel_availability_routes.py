"""A channel's available-to-sell over HTTP, for one SKU or a page of them: what the channel may
offer after its rules (the locations it sells from, safety buffers, other channels' ring-fenced
pools, minimum shelf life; a kit in whole kits).

By default answered from the hot views (`"source": "projected"` with the read model's lag, as
every projected read): fast, at scale, what a shop page or a marketplace feed polls. With
`?consistency=ledger` answered from the ledger's aggregates, as sourcing reads them when an
order is placed (`"source": "ledger"`): strongly consistent, slower. A channel token reads its
own channel; store staff, auditors, analysts and admins any."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api.access import principal_of
from api.json_answers import json_answer
from api.order_builders import known_channel
from api.problems import ApiProblem
from api.query_parameters import Parameter, choice, codes, repeated_codes
from api.query_route import READ_MODEL_PROBLEMS, Endpoint, QueryRoute
from api.read_model_routes import _projected_stock as projected_answer
from api.request_state import runtime_of
from projections.channel_availability import channel_available_to_sell
from projections.hot_view_store import HotViewStore
from service_layer import order_queries

MOST_SKUS = 100  # a page of products
PROJECTED, LEDGER = "projected", "ledger"
CONSISTENCY = choice(
    "consistency",
    (PROJECTED, LEDGER),
    PROJECTED,
    description="projected: from the hot views, with their lag; ledger: from the ledger's "
    "aggregates, strongly consistent",
)
SKU = repeated_codes("sku", MOST_SKUS, description="a SKU; repeat for more")
SKUS = codes("skus", MOST_SKUS, description="or the SKUs separated by commas")

Answer = Callable[[dict[str, int]], dict[str, Any]]


async def channel_availability_of_sku(request: Request) -> Response:
    channel, sku = _channel(request), request.path_params["sku"]

    def answer(units: dict[str, int]) -> dict[str, Any]:
        return {"channel": channel, "sku": sku, "available_to_sell": units[sku]}

    return await _answer(request, channel, [sku], answer)


async def channel_availability_of_skus(request: Request) -> Response:
    channel, skus = _channel(request), _skus(request)

    def answer(units: dict[str, int]) -> dict[str, Any]:
        return {
            "channel": channel,
            "skus": [{"sku": sku, "available_to_sell": units[sku]} for sku in skus],
        }

    return await _answer(request, channel, skus, answer)


async def _answer(request: Request, channel: str, skus: list[str], answer: Answer) -> Response:
    today = _today()
    if CONSISTENCY.value(request) == LEDGER:
        ledger = runtime_of(request).ledger
        units = await run_in_threadpool(
            order_queries.available_to_sell_of_skus, ledger, channel, skus, today
        )
        return json_answer({**answer(units), "source": LEDGER})

    def projected(store: HotViewStore) -> dict[str, Any]:
        return answer(channel_available_to_sell(store, channel, skus, today))

    return await projected_answer(request, projected)


def _channel(request: Request) -> str:
    """The channel named in the path; a channel's token reads only its own."""
    channel = known_channel(request.path_params["channel"])
    caller = principal_of(request)
    if caller.role == "channel" and caller.channel != channel:
        raise ApiProblem(
            403,
            "forbidden",
            "Forbidden",
            f"a {caller.channel} token reads its own channel's availability, not {channel}'s",
        )
    return channel


def _skus(request: Request) -> list[str]:
    """`sku=A&sku=B` and/or `skus=A,B`, each SKU once, in the order given."""
    asked = list(dict.fromkeys([*(SKU.read(request) or []), *(SKUS.read(request) or [])]))
    if not asked:
        raise _invalid_skus(f"no SKU given: expected sku=A&sku=B or skus=A,B (1 to {MOST_SKUS})")
    if len(asked) > MOST_SKUS:
        raise _invalid_skus(f"{len(asked)} SKUs asked at once; expected at most {MOST_SKUS}")
    return asked


def _invalid_skus(detail: str) -> ApiProblem:
    return ApiProblem(422, "invalid-query", "Invalid query parameter", detail, parameter="sku")


def _today() -> date:
    return datetime.now(tz=UTC).date()


DESCRIPTION = (
    "What the channel may sell now: over the locations it sells from, the free units of "
    "sellable batches with at least its minimum remaining shelf life, less its safety buffer "
    "and the pools other channels ring-fence there; a kit in whole kits (the fewest its "
    'components allow). By default from the hot views (`"source": "projected"`; `log` '
    "gives the read model's position, the ledger's head and how many events it is behind); "
    "`?consistency=ledger` reads the ledger's aggregates as sourcing does when an order is "
    'placed (`"source": "ledger"`, strongly consistent). A channel token reads its own '
    "channel. An unknown channel or SKU is a 404."
)


def _route(
    path: str, endpoint: Endpoint, summary: str, parameters: tuple[Parameter[Any], ...]
) -> QueryRoute:
    return QueryRoute(
        path, endpoint, summary, "channels", parameters, DESCRIPTION, READ_MODEL_PROBLEMS
    )


CHANNEL_AVAILABILITY_ROUTES = [
    _route(
        "/channels/{channel}/availability",
        channel_availability_of_skus,
        f"Available to sell for a channel, for up to {MOST_SKUS} SKUs at once "
        "(sku=A&sku=B or skus=A,B)",
        (SKU, SKUS, CONSISTENCY),
    ),
    _route(
        "/channels/{channel}/availability/{sku}",
        channel_availability_of_sku,
        "Available to sell for a channel: its locations, less buffers and others' pools, long "
        "dated enough (a kit: whole kits)",
        (CONSISTENCY,),
    ),
]
