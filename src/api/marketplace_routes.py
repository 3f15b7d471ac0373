"""Marketplaces over HTTP: their orders come in (`POST /marketplaces/{name}/orders`), and a
recall's notice lists who to tell (`GET /recalls/{sku}/{batch}`).

An import places the order on the `marketplace` channel through the writer, sourced on the
server like any order. Its id is a function of the marketplace and the marketplace's order id,
and the writer keeps the first answer under a key made of the same two, shared by every
caller: the same marketplace order sent twice, or sixteen times at once, is one order, and
each sender hears the first answer (the copies with `Idempotent-Replayed: true`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from uuid import UUID, uuid5

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api import callers
from api import webhook_models as m
from api.access import principal_of
from api.action_post import ActionPost
from api.caller_bounds import require_seller_limits
from api.command_responses import command_response
from api.json_answers import json_answer
from api.order_builders import delivery, ordered
from api.problems import ApiProblem
from api.query_route import QueryRoute
from api.request_body import read_json, validate
from api.request_state import runtime_of
from api.tracing import traced
from domain.errors import AlreadyExistsError
from domain.ids import GLOWLEDGER_NAMESPACE
from domain.order_commands import PlaceOrder
from domain.trace import Trace
from service_layer import order_queries
from service_layer.recall_notices import recall_notice
from storage.command_answers import scoped_key

MARKETPLACE_CHANNEL = "marketplace"  # of domain.channel_rules.CHANNELS
MARKETPLACE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


def marketplace_order_id(marketplace: str, their_id: str) -> UUID:
    return uuid5(GLOWLEDGER_NAMESPACE, f"marketplace-order:{marketplace}:{their_id}")


def _marketplace(request: Request) -> str:
    name = str(request.path_params["name"])
    if not MARKETPLACE_NAME.match(name):
        raise ApiProblem(
            422,
            "invalid-path-parameter",
            "Invalid path parameter",
            f"marketplace {name[:60]!r} is not a marketplace name: expected 1 to 40 lower-case "
            "letters, digits and hyphens",
        )
    return name


async def import_order(request: Request) -> Response:
    runtime = runtime_of(request)
    marketplace = _marketplace(request)
    channel, principal = callers.caller(request)
    if channel != MARKETPLACE_CHANNEL:
        raise ApiProblem(
            422,
            "not-a-marketplace-channel",
            "Not the marketplace channel",
            f"marketplace orders are placed on the {MARKETPLACE_CHANNEL!r} channel; the "
            f"X-Channel header was {channel!r}",
        )
    data, _ = await read_json(request, runtime.settings.max_body_bytes)
    body = validate(m.MarketplaceOrderIn, data)
    now = datetime.now(tz=UTC)
    reference = f"{marketplace}:{body.marketplace_order_id}"
    trace = traced(
        Trace(
            channel=channel,
            principal=principal,
            occurred_at=now,
            idempotency_key=reference,
            source_ref=reference,
            customer_id=None if body.customer_id is None else str(body.customer_id),
        )
    )
    order_id = marketplace_order_id(marketplace, body.marketplace_order_id)
    command = PlaceOrder(order_id, ordered(body.lines), delivery(body.delivery), trace)
    require_seller_limits(principal_of(request), command, now, runtime.settings)
    key = scoped_key(f"marketplace:{marketplace}", channel, body.marketplace_order_id)
    fingerprint = runtime.pseudonyms.fingerprint("POST", request.url.path, data)
    try:
        outcome = await runtime.writer.submit_async(command, key, fingerprint)
    except AlreadyExistsError:  # imported before, and its first answer no longer kept
        found = await run_in_threadpool(order_queries.order, runtime.ledger, order_id)
        return json_answer({**found, "imported_before": True})
    return command_response(outcome, route_creates=True)


async def recall(request: Request) -> Response:
    runtime = runtime_of(request)
    sku, batch = request.path_params["sku"], request.path_params["batch"]
    found = await run_in_threadpool(recall_notice, runtime.ledger, runtime.customers, sku, batch)
    return json_answer({**found, "source": "ledger"})


MARKETPLACE_POSTS = [
    ActionPost(
        "/marketplaces/{name}/orders",
        m.MarketplaceOrderIn,
        import_order,
        "Import a marketplace's order: one order per marketplace order id, however often "
        "it is sent; sourced and held like any order",
        "marketplaces",
        ok=201,
    ),
]

RECALL_QUERIES = [
    QueryRoute(
        "/recalls/{sku}/{batch}",
        recall,
        "Who a batch recall concerns, per channel: orders, customers to message (contact "
        "consent), customers for the store to tell (no consent); pseudonymous ids only",
        "batches",
    ),
]
