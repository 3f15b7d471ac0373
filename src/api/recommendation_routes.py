"""GET /customers/{id}/recommendations: served from what the batch job published in Redis,
re-ranked with the session (`?viewed=SKU1,SKU2`), filtered by the rule stage on the customer's
safety facts (always), profile (with consent) and stock as they are at this request. The read
of personal data is logged with its purpose: personalisation, or protection alone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api.access_logging import log_access
from api.problems import ApiProblem
from api.query_parameters import codes, whole
from api.query_route import QueryRoute
from api.request_state import runtime_of, uuid_path_parameter
from domain.customer import Customer
from projections import projected_stock
from projections.hot_view_store import HotViewStore
from recommender.config import recommendations_url
from recommender.customer_signals import facts_of
from recommender.rules import InStock
from recommender.serving import CatalogCache, recommend
from recommender.signals import CustomerFacts, ProductFacts
from recommender.store import RecommendationStore

MAX_LIMIT = 50
VIEWED = codes("viewed", 20, description="SKUs viewed in this session: re-ranks the answer")
LIMIT = whole("limit", 1, MAX_LIMIT, 10)


async def recommendations(request: Request) -> Response:
    runtime = runtime_of(request)
    limit, cache = LIMIT.value(request), _cache(request)
    customer_id = uuid_path_parameter(request, "customer_id")
    customer = await run_in_threadpool(runtime.customers.customer, customer_id)
    viewed = VIEWED.read(request) or []
    in_stock = _stock_check(runtime.read_side.sinks.hot_views if runtime.read_side else None)
    facts, read = await _facts(request, customer)
    for person in read:
        await log_access(request, person, _purpose(facts), request.headers.get("x-access-reason"))
    catalog = cache.current()  # once: a model published meanwhile is the next request's
    result = await run_in_threadpool(
        recommend, facts, cache.store, catalog, viewed, in_stock, limit
    )
    body: dict[str, Any] = {
        **result.as_dict(),
        "model": catalog.version or None,
        "stock_checked": in_stock is not None,
    }
    return Response(orjson.dumps(body), media_type="application/json")


async def _facts(request: Request, customer: Customer) -> tuple[CustomerFacts, list[UUID]]:
    """What the rules may use, read now, and whose personal data that read: customers merged
    into this one are the same person, so their allergies and preferences protect too."""
    desk = runtime_of(request).customers
    merged = await run_in_threadpool(desk.merged_from, customer) if customer.absorbed else []
    return facts_of(customer, merged), [customer.id, *(m.id for m in merged)]


def _purpose(facts: CustomerFacts) -> str:
    """What the personal data read for this answer is used for, as the access log names it."""
    if facts.may_personalise:
        return "read for personalisation"
    return "read for protection (allergies, fragrance-free) on a non-personal list"


def _cache(request: Request) -> CatalogCache:
    cache: CatalogCache | None = getattr(request.app.state, "recommendations", None)
    if cache is None:
        url = recommendations_url(runtime_of(request).settings)
        if url is None:
            raise ApiProblem(
                503,
                "recommendations-not-configured",
                "Recommendations not configured",
                "set GLOW_RECOMMENDATIONS_URL (or Redis hot views) and run `glow recommend train`",
            )
        cache = CatalogCache(RecommendationStore.from_url(url))
        request.app.state.recommendations = cache
    return cache


def _stock_check(views: HotViewStore | None) -> InStock | None:
    if views is None:
        return None
    today = datetime.now(UTC).date()

    def in_stock(product: ProductFacts, locations: tuple[str, ...]) -> bool:
        if not locations:
            totals = projected_stock.across_locations(views, list(product.skus), today)
            return any(t["available"] > 0 for t in totals)
        return any(
            (found := projected_stock.at_location(views, sku, location, today)) is not None
            and found["available"] > 0
            for sku in product.skus
            for location in locations
        )

    return in_stock


RECOMMENDATION_ROUTES = [
    QueryRoute(
        "/customers/{customer_id}/recommendations",
        recommendations,
        "Suggestions with reasons (personal with consent, else popular); allergies and a "
        "fragrance-free preference exclude on every list, each exclusion with its rule",
        "recommendations",
        (VIEWED, LIMIT),
        problems=(401, 403, 404, 409, 422, 503),
    ),
]
