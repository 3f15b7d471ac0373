"""GET /products/{product_code}/similar: similar products ("dupes") by the published model's
item vectors and by ingredient families, with reasons, through the rule stage for the asking
customer: a customer token asks as itself; staff, channel and admin tokens may name one with
`?customer=`; without a customer only the EU annexes, discontinued products and stock filter.
The read of the customer's personal data is logged with its purpose."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api.access import principal_of
from api.access_logging import log_access
from api.problems import ApiProblem
from api.query_parameters import identifier, whole
from api.query_route import QueryRoute
from api.recommendation_routes import _cache, _facts, _purpose, _stock_check
from api.request_state import runtime_of
from recommender.rules import Situation
from recommender.serving import Catalog
from recommender.signals import CustomerFacts
from recommender.similar import similar
from recommender.store import RecommendationStore

MAX_LIMIT = 50
LIMIT = whole("limit", 1, MAX_LIMIT, 10)
CUSTOMER = identifier(
    "customer",
    description="ask as this customer: their allergies, preferences and (with consent) "
    "profile and history filter and rank the list; staff, channel and admin tokens only (a "
    "customer token always asks as itself)",
)
ANYONE = CustomerFacts("")  # no customer: no safety facts, no consent


async def similar_products(request: Request) -> Response:
    runtime, cache = runtime_of(request), _cache(request)
    code = str(request.path_params["product_code"])
    limit = LIMIT.value(request)
    asked = _asking_customer(request)
    catalog = await run_in_threadpool(cache.current)
    _require_indexed(catalog, code)
    in_stock = _stock_check(runtime.read_side.sinks.hot_views if runtime.read_side else None)
    facts, situation = ANYONE, Situation(in_stock=in_stock)
    if asked is not None:
        customer = await run_in_threadpool(runtime.customers.customer, asked)
        facts, read = await _facts(request, customer)
        for person in read:
            reason = request.headers.get("x-access-reason")
            await log_access(request, person, _purpose(facts), reason)
        situation = await run_in_threadpool(_history, cache.store, facts, situation)
    result = await run_in_threadpool(similar, code, facts, catalog, situation, limit)
    body: dict[str, Any] = {
        "product_code": code,
        **result.as_dict(),
        "customer_id": facts.customer_id or None,
        "model": catalog.version or None,
        "stock_checked": in_stock is not None,
    }
    return Response(orjson.dumps(body), media_type="application/json")


def _asking_customer(request: Request) -> UUID | None:
    principal = principal_of(request)
    named = CUSTOMER.read(request)
    if principal.role != "customer":
        return UUID(named) if named else None
    own = principal.customer_id
    if named is not None and own is not None and UUID(named) != own:
        raise ApiProblem(
            403,
            "forbidden",
            "Forbidden",
            "a customer token asks as its own customer: leave out ?customer= or name your own id",
        )
    return own


def _require_indexed(catalog: Catalog, code: str) -> None:
    if catalog.vectors is None:
        raise ApiProblem(
            503,
            "similar-products-not-published",
            "Similar products not published",
            f"no vector index is published for model {catalog.version or '(none)'}: run "
            "`glow recommend train` with GLOW_RECOMMENDATIONS_URL set",
        )
    if code not in catalog.rules.products or catalog.vectors.position(code) is None:
        raise ApiProblem(
            404,
            "unknown-product",
            "Unknown product",
            f"product {code[:64]!r} is not in the catalogue of model {catalog.version}: no such "
            "product, or defined after the model (it is known once `glow recommend train` ran)",
        )


def _history(store: RecommendationStore, facts: CustomerFacts, situation: Situation) -> Situation:
    """What the batch job published of a consenting customer's purchases, returns and
    locations (none read without consent: `rule_stage.screen` would not use them)."""
    if not facts.may_personalise:
        return situation
    entry = store.customer(facts.customer_id) or {}
    return Situation(
        bought=frozenset(entry.get("bought", ())),
        returned=frozenset(entry.get("returned", ())),
        in_stock=situation.in_stock,
        locations=tuple(entry.get("locations", ())),
    )


SIMILAR_ROUTES = [
    QueryRoute(
        "/products/{product_code}/similar",
        similar_products,
        "Similar products (dupes) by the model's item vectors and shared ingredient families, "
        "each with reasons (the families shared, a cheaper alternative); filtered by the asking "
        "customer's allergies and rules, each exclusion with its rule",
        "recommendations",
        (LIMIT, CUSTOMER),
        problems=(401, 403, 404, 422, 429, 503),
    ),
]
