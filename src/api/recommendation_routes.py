"""GET /customers/{id}/recommendations: served from what the batch job published in Redis,
re-ranked with the session (`?viewed=SKU1,SKU2`), filtered by the rule stage on the customer's
safety facts (always), profile (with consent) and stock as they are at this request. The read
of personal data is logged with its purpose: personalisation, or protection alone.

A consenting customer is served their variant of the running experiment (`experiment`,
`variant` in the answer), and the list shown is logged as an exposure
(service_layer/experiment_serving.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api.access import principal_of
from api.access_logging import log_access
from api.problems import ApiProblem
from api.query_parameters import codes, whole
from api.query_route import QueryRoute
from api.request_state import runtime_of, uuid_path_parameter
from domain.channel_rules import CHANNELS
from domain.customer import Customer
from domain.experiment import MODEL
from projections import projected_stock
from projections.hot_view_store import HotViewStore
from recommender.config import recommendations_url
from recommender.customer_signals import facts_of
from recommender.exposure_audit import rule_violations
from recommender.ranking_policies import STANDARD
from recommender.rules import InStock
from recommender.serving import CandidateSource, CatalogCache, recommend
from recommender.signals import CustomerFacts, ProductFacts
from recommender.store import RecommendationStore
from service_layer.experiment_serving import Placement, variant_source

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
    catalog, serving = cache.current(), runtime.experiment_serving
    placement = None
    if serving is not None:
        placement = await run_in_threadpool(serving.place, customer.id, facts, cache.store)
    source: CandidateSource = cache.store
    policy = STANDARD
    if placement is not None:
        source, policy = variant_source(placement.served, cache.store)
    result = await run_in_threadpool(
        recommend,
        facts,
        source,
        catalog,
        viewed,
        in_stock,
        limit,
        policy,
        datetime.now(UTC),
        _channel(request),
    )
    body: dict[str, Any] = {
        **result.as_dict(),
        "model": _model(placement) or catalog.version or None,
        "stock_checked": in_stock is not None,
        "experiment": None if placement is None else str(placement.experiment.id),
        "variant": None if placement is None else placement.served.name,
    }
    if serving is not None and placement is not None and placement.measured:
        violations = await run_in_threadpool(rule_violations, result, catalog, facts, source)
        serving.expose(placement, customer.id, result, violations, datetime.now(UTC))
    return Response(orjson.dumps(body), media_type="application/json")


def _model(placement: Placement | None) -> str | None:
    """The challenger's version when the customer is served one."""
    if placement is None or placement.served.kind != MODEL:
        return None
    return placement.served.target


async def _facts(request: Request, customer: Customer) -> tuple[CustomerFacts, list[UUID]]:
    """What the rules may use, read now, and whose personal data that read: customers merged
    into this one are the same person, so their allergies and preferences protect too."""
    desk = runtime_of(request).customers
    merged = await run_in_threadpool(desk.merged_from, customer) if customer.absorbed else []
    return facts_of(customer, merged), [customer.id, *(m.id for m in merged)]


def _channel(request: Request) -> str | None:
    """The channel whose promotions apply: the token's; for a token of no channel (a customer,
    an admin) the X-Channel header when it names one, else none (only promotions on every
    channel apply)."""
    channel = principal_of(request).channel
    if channel is not None:
        return channel
    said = request.headers.get("x-channel", "").strip().lower()
    return said if said in CHANNELS else None


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
