"""Replenishment over HTTP: a SKU's policy at a location (set by the back office, read by
whoever plans), the open suggestions of a location, and accepting one (its expected shipment
or its transfer in transit, once). Suggestions are made by `glow replenish`."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api.access import principal_of
from api.command_builders import Context
from api.command_route import CommandRoute
from api.json_answers import json_answer
from api.models import Traceable
from api.query_parameters import code
from api.query_route import QueryRoute
from api.request_state import code_path_parameter, runtime_of
from domain.replenishment import PolicyTerms
from domain.replenishment_commands import AcceptSuggestion, SetReplenishmentPolicy
from service_layer.replenishment_desk import ReplenishmentDesk, defaults_from

POLICY_PATH = "/replenishment/policies/{location}/{sku}"
LOCATION = code("location", description="the location whose open suggestions to list")


class PolicyIn(Traceable):
    """How a SKU is replenished at a location (the whole policy: a PUT replaces it)."""

    service_level: float = Field(
        ge=0.5, lt=1, description="Share of lead times whose demand the stock covers"
    )
    lead_time_days: int = Field(ge=0, le=365, description="Days the supplier takes to deliver")
    review_period_days: int = Field(ge=1, le=365, description="Days between planning runs")
    order_multiple: int = Field(1, ge=1, le=100_000, description="A purchase is a multiple")
    minimum_order: int = Field(0, ge=0, le=1_000_000, description="A purchase is at least this")
    min_units: int | None = Field(None, ge=0, le=10_000_000, description="Reorder point floor")
    max_units: int | None = Field(None, ge=0, le=10_000_000, description="Order-up-to cap")
    shelf_life_days: int | None = Field(
        None,
        ge=1,
        le=3650,
        description="Days from receipt to expiry (default: learnt from the batches received)",
    )


class AcceptIn(Traceable):
    pass


def set_policy(body: PolicyIn, ctx: Context) -> SetReplenishmentPolicy:
    terms = PolicyTerms(
        service_level=body.service_level,
        lead_time_days=body.lead_time_days,
        review_period_days=body.review_period_days,
        order_multiple=body.order_multiple,
        minimum_order=body.minimum_order,
        min_units=body.min_units,
        max_units=body.max_units,
        shelf_life_days=body.shelf_life_days,
    )
    return SetReplenishmentPolicy(ctx.path["sku"], ctx.path["location"], terms, ctx.trace)


def accept(body: AcceptIn, ctx: Context) -> AcceptSuggestion:
    return AcceptSuggestion(ctx.path["suggestion_id"], ctx.trace, ctx.authority.location)


REPLENISHMENT_COMMAND_ROUTES = [
    CommandRoute(
        POLICY_PATH,
        PolicyIn,
        set_policy,
        "Set how a SKU is replenished at a location: service level, lead time, review period, "
        "order multiple, minimum order, min/max, shelf life",
        "replenishment",
        creates=True,
        path_params={"location": str, "sku": str},
        method="PUT",
    ),
    CommandRoute(
        "/replenishment/suggestions/{suggestion_id}/accept",
        AcceptIn,
        accept,
        "Accept a replenishment suggestion: its expected shipment (a purchase) or its transfer "
        "in transit; accepting again answers the same",
        "replenishment",
        path_params={"suggestion_id": UUID},
    ),
]


def _desk(request: Request) -> ReplenishmentDesk:
    runtime = runtime_of(request)
    return ReplenishmentDesk(runtime.ledger, defaults_from(runtime.settings))


async def open_suggestions(request: Request) -> Response:
    caller = principal_of(request)
    location = LOCATION.read(request)
    if location is None and caller.role == "store-staff":
        location = caller.location  # staff see their own location's
    found: list[dict[str, Any]] = await run_in_threadpool(_desk(request).open_suggestions, location)
    return json_answer({"location": location, "suggestions": found, "source": "ledger"})


async def policy(request: Request) -> Response:
    sku = code_path_parameter(request, "sku", "SKU code")
    location = code_path_parameter(request, "location", "location code")
    found = await run_in_threadpool(_desk(request).policy, sku, location)
    return json_answer(found)


REPLENISHMENT_QUERIES = [
    QueryRoute(
        "/replenishment/suggestions",
        open_suggestions,
        "The open replenishment suggestions (of one location, or all), with their reasons",
        "replenishment",
        parameters=(LOCATION,),
        description="Read from the suggestion books in the ledger (strongly consistent, with "
        "or without a broker). Store staff read their own location's.",
    ),
    QueryRoute(
        POLICY_PATH,
        policy,
        "A SKU's replenishment policy at a location (the settings' defaults where none is set)",
        "replenishment",
    ),
]
