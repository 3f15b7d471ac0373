"""Orders, channels' rules and kits over HTTP: the command routes (served as every command is,
through the writer), the quote (a read: it holds nothing, records nothing, and never reaches the
writer), and the reads of what one acts on (an order, a pick list), answered from the ledger's
aggregates. Listing orders reads the order read model (api/order_listing_routes.py); a channel's
available-to-sell is api/channel_availability_routes.py's.

Who reads what: an auditor or an admin any order; a channel its own orders; store staff the
orders with a fulfilment order at their location, and the pick lists of those."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api import callers
from api import order_builders as b
from api import order_models as m
from api.access import principal_of
from api.auth import Principal
from api.command_route import CommandRoute
from api.json_answers import json_answer
from api.problems import ApiProblem
from api.query_route import Endpoint, QueryRoute
from api.request_body import read_json, validate
from api.request_state import runtime_of, uuid_path_parameter
from service_layer import order_queries

ORDER: dict[str, Any] = {"order_id": UUID}
FULFILMENT: dict[str, Any] = {"order_id": UUID, "fulfilment_id": str}
RETURN: dict[str, Any] = {"order_id": UUID, "rma_id": str}

ORDER_ROUTES = [
    CommandRoute(
        "/orders",
        m.PlaceOrderIn,
        b.place_order,
        "Place an order: the ledger sources it (locations, batches) and holds every line, "
        "all or none",
        "orders",
        creates=True,
    ),
    CommandRoute(
        "/orders/{order_id}/fulfilments/{fulfilment_id}/steps",
        m.FulfilmentStepIn,
        b.progress,
        "Take one step of a fulfilment order (picking, packed, shipped, delivered, ready for "
        "pickup, collected, not collected)",
        "orders",
        path_params=FULFILMENT,
    ),
    CommandRoute(
        "/orders/{order_id}/cancel",
        m.OrderActionIn,
        b.cancel,
        "Cancel the whole order before anything shipped: its stock comes back",
        "orders",
        path_params=ORDER,
    ),
    CommandRoute(
        "/orders/{order_id}/lines/cancel",
        m.CancelLinesIn,
        b.cancel_lines,
        "Cancel items of some lines before they ship: exactly their units come back",
        "orders",
        path_params=ORDER,
    ),
    CommandRoute(
        "/orders/{order_id}/lines/edit",
        m.EditLinesIn,
        b.edit_lines,
        "Add, remove or requantify lines before fulfilment starts: the order is sourced again",
        "orders",
        path_params=ORDER,
    ),
    CommandRoute(
        "/orders/{order_id}/payment",
        m.PaymentIn,
        b.payment,
        "Report the payment: authorised, captured, or failed (the order is cancelled)",
        "orders",
        path_params=ORDER,
    ),
    CommandRoute(
        "/orders/{order_id}/returns",
        m.ReturnRequestIn,
        b.request_return,
        "Request a return (RMA) of items handed over",
        "orders",
        creates=True,
        path_params=ORDER,
    ),
    CommandRoute(
        "/orders/{order_id}/returns/{rma_id}/receive",
        m.ReturnReceiptIn,
        b.receive_return,
        "Receive a return at a location: restocked, or written off as damaged",
        "orders",
        path_params=RETURN,
    ),
    CommandRoute(
        "/orders/{order_id}/returns/{rma_id}/refund",
        m.RefundIn,
        b.refund,
        "Record the refund of a received return",
        "orders",
        path_params=RETURN,
    ),
    CommandRoute(
        "/channels/{channel}/rules",
        m.ChannelRulesIn,
        b.channel_rules,
        "Change a sales channel's rules: locations, safety buffers, ring-fenced pools, "
        "minimum shelf life, sourcing strategy",
        "channels",
        path_params={"channel": str},
    ),
    CommandRoute(
        "/kits",
        m.KitIn,
        b.define_kit,
        "Define a kit (gift set) or change its components",
        "catalog",
    ),
]


# --- the quote ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadingPost:
    """A POST that only reads: a body in, an answer out, nothing held or recorded."""

    path: str
    model: type[BaseModel]
    endpoint: Endpoint
    summary: str
    tag: str


async def quote(request: Request) -> Response:
    runtime = runtime_of(request)
    channel, _ = callers.caller(request)
    data, _ = await read_json(request, runtime.settings.max_body_bytes)
    body = validate(m.QuoteIn, data)
    lines = [(line.sku, line.quantity) for line in body.lines]
    answer = await run_in_threadpool(
        order_queries.quote, runtime.ledger, channel, lines, b.delivery(body.delivery), _today()
    )
    return json_answer({**answer, "channel": channel, "source": "ledger"})


ORDER_QUOTES = [
    ReadingPost(
        "/orders/quote",
        m.QuoteIn,
        quote,
        "The sourcing decision an order would get now (locations, batches, reasons); nothing "
        "is held or recorded",
        "orders",
    )
]


# --- reads ----------------------------------------------------------------------------------


async def order(request: Request) -> Response:
    order_id = uuid_path_parameter(request, "order_id")
    found = await run_in_threadpool(order_queries.order, runtime_of(request).ledger, order_id)
    _require_may_see(principal_of(request), found)
    return json_answer({**found, "source": "ledger"})


async def pick_list(request: Request) -> Response:
    order_id = uuid_path_parameter(request, "order_id")
    fulfilment_id = request.path_params["fulfilment_id"]
    ledger = runtime_of(request).ledger
    found = await run_in_threadpool(order_queries.pick_list, ledger, order_id, fulfilment_id)
    caller = principal_of(request)
    if caller.role == "store-staff" and found["location"] != caller.location:
        raise _forbidden(
            f"fulfilment order {fulfilment_id} is picked at {found['location']}; staff of "
            f"{caller.location} read the pick lists of their own location"
        )
    if caller.role == "channel" and found["channel"] != caller.channel:
        raise _forbidden(f"order {order_id} was placed by another channel")
    return json_answer({**found, "source": "ledger"})


ORDER_QUERIES = [
    QueryRoute(
        "/orders/{order_id}", order, "An order, its fulfilment orders and decision", "orders"
    ),
    QueryRoute(
        "/orders/{order_id}/fulfilments/{fulfilment_id}/pick-list",
        pick_list,
        "What to take off the shelves for one fulfilment order: SKUs, batches, units",
        "orders",
    ),
]


def _require_may_see(caller: Principal, found: dict[str, Any]) -> None:
    if caller.role in ("auditor", "admin"):
        return
    if caller.role == "channel" and found["channel"] != caller.channel:
        raise _forbidden(f"order {found['order_id']} was placed by another channel")
    places = {f["location"] for f in found["fulfilments"]}
    if found["delivery"].get("store"):
        places.add(found["delivery"]["store"])
    if caller.role == "store-staff" and caller.location not in places:
        raise _forbidden(
            f"order {found['order_id']} has no fulfilment order at {caller.location}; staff "
            "read the orders of their own location"
        )


def _forbidden(detail: str) -> ApiProblem:
    return ApiProblem(403, "forbidden", "Forbidden", detail)


def _today() -> date:
    return datetime.now(tz=UTC).date()
