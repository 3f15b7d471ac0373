"""Orders listed from the order read model (the hot views): `GET /orders` by channel, customer,
status or location, and a customer's purchase history, `GET /customers/{id}/orders`. Both
answer `"source": "projected"` with the view's lag; an order itself and its pick list are read
from the ledger (api/order_routes.py), since they are what one acts on.

Who sees what, as for an order read from the ledger: an auditor or an admin every order; a
channel its own; store staff those with a fulfilment order or the pickup at their location;
a customer their own history."""

from __future__ import annotations

from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api.access import principal_of
from api.access_logging import log_access
from api.auth import Principal
from api.json_answers import json_answer
from api.problems import ApiProblem
from api.query_parameters import choice, code, identifier, position, whole
from api.query_route import READ_MODEL_PROBLEMS, QueryRoute
from api.read_model_routes import hot_views_of
from api.request_state import runtime_of, uuid_path_parameter
from domain.channel_rules import CHANNELS
from domain.errors import UnknownCustomerError
from domain.order import CANCELLED, COMPLETED, IN_FULFILMENT, PLACED, SOURCED
from projections.order_listing import OrderFilter
from service_layer.order_history import listed, nothing_listed

STATUS = choice("status", (PLACED, SOURCED, IN_FULFILMENT, COMPLETED, CANCELLED))
CHANNEL = choice("channel", CHANNELS, description="a channel's orders (a channel: its own)")
CUSTOMER = identifier("customer_id", description="the orders of one customer (their id)")
LOCATION = code("location", description="orders with a fulfilment order or pickup there")
AFTER = position("after", description="the cursor to list after (`next_after`; 0: the first)")
BEFORE = position("before", description="the cursor to list before (`next_before`; 0: newest)")
LIMIT = whole("limit", 1, 200, 50)


def narrowed(caller: Principal, wanted: OrderFilter) -> OrderFilter:
    """The filter, as far as the caller may read: a channel's own orders, staff's location."""
    if caller.role == "channel":
        if wanted.channel not in (None, caller.channel):
            raise _forbidden(f"a {caller.channel} token lists only its own channel's orders")
        return OrderFilter(caller.channel, wanted.customer_ids, wanted.status, wanted.location)
    if caller.role == "store-staff":
        if wanted.location not in (None, caller.location):
            raise _forbidden(f"staff of {caller.location} list the orders of their own location")
        return OrderFilter(wanted.channel, wanted.customer_ids, wanted.status, caller.location)
    return wanted


async def orders(request: Request) -> Response:
    customer = CUSTOMER.read(request)
    wanted = OrderFilter(
        channel=CHANNEL.read(request),
        customer_ids=(customer,) if customer else (),
        status=STATUS.read(request),
        location=LOCATION.read(request),
    )
    wanted = narrowed(principal_of(request), wanted)
    side, store = hot_views_of(request)
    after, limit = AFTER.value(request) or None, LIMIT.value(request)
    if customer is not None:
        forgotten: bool = await run_in_threadpool(_forgotten, request, customer)
        if forgotten:
            return json_answer(await run_in_threadpool(nothing_listed, side, store))
    found = await run_in_threadpool(listed, side, store, wanted, after, limit)
    return json_answer(found)


def _forgotten(request: Request, customer_id: str) -> bool:
    try:
        return runtime_of(request).customers.customer(UUID(customer_id)).forgotten
    except UnknownCustomerError:
        return False


async def customer_orders(request: Request) -> Response:
    """A customer's orders, newest first: theirs and those of customers merged into them."""
    customer_id = uuid_path_parameter(request, "customer_id")
    runtime, caller = runtime_of(request), principal_of(request)
    customer = await run_in_threadpool(runtime.customers.customer, customer_id)
    if caller.may_read_pii:
        reason = request.headers.get("x-access-reason")
        await log_access(request, customer.id, "read orders", reason)
    mine = (str(customer.id), *(str(source) for source in customer.absorbed))
    wanted = narrowed(caller, OrderFilter(customer_ids=mine, status=STATUS.read(request)))
    side, store = hot_views_of(request)
    before, limit = BEFORE.value(request) or None, LIMIT.value(request)
    if customer.forgotten:  # the log (and a rebuilt view) still names their pseudonymous id
        found = await run_in_threadpool(nothing_listed, side, store)
    else:
        found = await run_in_threadpool(
            lambda: listed(side, store, wanted, before, limit, newest_first=True)
        )
    cursor = found.pop("next_after")
    return json_answer({"customer_id": str(customer.id), **found, "next_before": cursor})


def _forbidden(detail: str) -> ApiProblem:
    return ApiProblem(403, "forbidden", "Forbidden", detail)


ORDER_LISTINGS = [
    QueryRoute(
        "/orders",
        orders,
        "Orders by channel, customer, status or location, oldest first, from the order read "
        "model, with its lag",
        "orders",
        parameters=(CHANNEL, CUSTOMER, STATUS, LOCATION, AFTER, LIMIT),
        description="Projected from the ledger's events into the order hot view "
        '(`"source": "projected"`, `log`: the view\'s position, the ledger\'s head, how many '
        "events it is behind): a new order or step shows once the view has caught up. A page "
        "is at most `limit` orders; `next_after` continues it (null: nothing more). A channel "
        "lists its own orders, store staff those with a fulfilment order or the pickup at "
        "their location. For an order as the ledger holds it now, see /orders/{order_id}.",
        problems=READ_MODEL_PROBLEMS,
    ),
    QueryRoute(
        "/customers/{customer_id}/orders",
        customer_orders,
        "A customer's orders (purchase history), newest first, from the order read model",
        "customers",
        parameters=(STATUS, BEFORE, LIMIT),
        description="The orders placed for the customer (and for customers merged into them), "
        "from the order hot view, with its lag; `next_before` continues the page (null: "
        "nothing more). A channel sees the orders it took, store staff those at their "
        "location, the customer all of their own.",
        problems=READ_MODEL_PROBLEMS,
    ),
]
