"""Every stock and catalog command route: path, body model, builder, and whether it creates
(201 when its result says it created something: api/command_responses.py). The app and the
OpenAPI document are made from this list."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from api import callers
from api import command_builders as b
from api import models as m
from api.access import principal_of, require_locations
from api.caller_bounds import (
    caller_authority,
    is_back_office,
    occurred_at,
    require_seller_limits,
)
from api.command_responses import command_response
from api.command_route import PROMOTION, RESERVATION, CommandRoute
from api.command_waits import deadlines
from api.hold_routes import HOLD_ROUTES
from api.metrics import COMMAND_LATENCY
from api.problems import ApiProblem
from api.request_body import read_json, validate
from api.request_state import runtime_of
from api.tracing import traced
from domain.commands import Command
from domain.trace import Trace
from storage.command_answers import scoped_key

COMMAND_ROUTES = [
    CommandRoute(
        "/products",
        m.DefineProductIn,
        b.define_product,
        "Define a product and its variant SKUs",
        "catalog",
        creates=True,
    ),
    CommandRoute(
        "/products/{product_code}/changes",
        m.ChangeProductIn,
        b.change_product,
        "Change a product's details",
        "catalog",
        path_params={"product_code": str},
    ),
    CommandRoute(
        "/products/{product_code}/variants",
        m.AddVariantIn,
        b.add_variant,
        "Add a variant SKU to a product",
        "catalog",
        creates=True,
        path_params={"product_code": str},
    ),
    CommandRoute(
        "/products/{product_code}/discontinue",
        m.DiscontinueIn,
        b.discontinue,
        "Discontinue a product and all its SKUs",
        "catalog",
        path_params={"product_code": str},
    ),
    CommandRoute(
        "/products/{product_code}/promotions",
        m.SchedulePromotionIn,
        b.schedule_promotion,
        "Schedule a promotion of a product: a discount for a period, on some channels",
        "catalog",
        creates=True,
        path_params={"product_code": str},
    ),
    CommandRoute(
        "/products/{product_code}/promotions/{promotion_id}",
        m.WithdrawPromotionIn,
        b.withdraw_promotion,
        "Withdraw a promotion of a product (the body, optional, may carry a reason)",
        "catalog",
        path_params=PROMOTION,
        method="DELETE",
    ),
    CommandRoute(
        "/skus/{sku}/price",
        m.RepriceIn,
        b.reprice,
        "Change a SKU's price",
        "catalog",
        path_params={"sku": str},
    ),
    CommandRoute(
        "/locations",
        m.RegisterLocationIn,
        b.register_location,
        "Register a warehouse, store or fulfilment centre",
        "locations",
        creates=True,
    ),
    CommandRoute("/stock/receipts", m.ReceiveIn, b.receive, "Receive a batch into stock", "stock"),
    CommandRoute(
        "/stock/expected-shipments",
        m.ExpectShipmentIn,
        b.expect_shipment,
        "Announce an incoming shipment",
        "stock",
    ),
    CommandRoute(
        "/reservations",
        m.ReserveIn,
        b.reserve,
        "Reserve stock on several lines: all lines or none",
        "reservations",
        creates=True,
    ),
    CommandRoute(
        "/reservations/{reservation_id}/confirm",
        m.ReservationActionIn,
        b.confirm,
        "Confirm a reservation into a sale",
        "reservations",
        path_params=RESERVATION,
    ),
    CommandRoute(
        "/reservations/{reservation_id}/release",
        m.ReservationActionIn,
        b.release,
        "Release a reservation's stock",
        "reservations",
        path_params=RESERVATION,
    ),
    CommandRoute("/sales", m.SellIn, b.sell, "Sell directly (a POS till), no reservation", "stock"),
    CommandRoute(
        "/returns",
        m.ReturnIn,
        b.accept_return,
        "Take a return: restocked, or written off as damaged",
        "stock",
    ),
    CommandRoute(
        "/adjustments",
        m.AdjustIn,
        b.adjust,
        "Adjust a batch's count (cycle count, damage, theft)",
        "stock",
    ),
    CommandRoute(
        "/transfers",
        m.TransferIn,
        b.transfer,
        "Move stock between locations, batches and expiry kept",
        "stock",
    ),
    *HOLD_ROUTES,
    CommandRoute(
        "/batches/quarantine",
        m.BatchActionIn,
        b.quarantine,
        "Quarantine a batch at a location: it cannot be sold",
        "batches",
    ),
    CommandRoute(
        "/batches/lift-quarantine",
        m.BatchActionIn,
        b.lift_quarantine,
        "Lift a batch's quarantine",
        "batches",
    ),
    CommandRoute(
        "/batches/recall",
        m.RecallIn,
        b.recall,
        "Recall a batch everywhere it is held: it can never be sold",
        "batches",
    ),
]


def command_endpoint(route: CommandRoute) -> Callable[[Request], Awaitable[Response]]:
    latency = COMMAND_LATENCY.labels(route.path)

    async def endpoint(request: Request) -> Response:
        runtime = runtime_of(request)
        settings = runtime.settings
        key = callers.idempotency_key(request)
        channel, principal = callers.caller(request)
        path = _path_params(route, request)
        data, _ = await read_json(request, settings.max_body_bytes)
        body = validate(route.model, data)
        caller = principal_of(request)
        now = datetime.now(tz=UTC)
        trace = traced(
            Trace(
                channel=channel,
                principal=principal,
                occurred_at=occurred_at(
                    getattr(body, "occurred_at", None), now, caller, channel, settings
                ),
                idempotency_key=key,
                source_ref=getattr(body, "source_ref", None),
                reason=getattr(body, "reason", None),
                customer_id=_optional_str(getattr(body, "customer_id", None)),
            )
        )
        context = b.Context(
            trace,
            now,
            path,
            settings.reservation_ttl_seconds,
            caller_authority(caller),
            is_back_office(caller, channel),
        )
        command = route.build(body, context)
        require_locations(caller, command_locations(command))
        require_seller_limits(caller, command, now, settings)
        started = time.perf_counter()
        future = runtime.writer.submit_async(
            command,
            scoped_key(principal, channel, key),
            runtime.pseudonyms.fingerprint(request.method, request.scope["path"], data),
        )
        deadlines().watch(future, settings.command_timeout_seconds)
        outcome = await future
        latency.observe(time.perf_counter() - started)
        return command_response(outcome, route.creates)

    endpoint.__name__ = "command_" + route.path.strip("/").replace("/", "_").replace("{", "")
    return endpoint


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)


def command_locations(command: Command) -> list[str]:
    """Every location a command touches, for the store-staff rule."""
    found = [getattr(command, name, None) for name in ("location", "from_location", "to_location")]
    found += [getattr(line, "location", None) for line in getattr(command, "lines", ())]
    return [location for location in found if isinstance(location, str)]


def _path_params(route: CommandRoute, request: Request) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name, parse in route.path_params.items():
        raw = request.path_params[name]
        try:
            params[name] = parse(raw)
        except ValueError:
            raise ApiProblem(
                422,
                "invalid-path-parameter",
                "Invalid path parameter",
                f"{name} {raw!r} is not a valid {parse.__name__}",
            ) from None
    return params
