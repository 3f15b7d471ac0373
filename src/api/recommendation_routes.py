"""GET /customers/{id}/recommendations: served from what the batch job published in Redis,
re-ranked with the session (`?viewed=SKU1,SKU2`), filtered by the rules on the customer's
profile, consent and stock as they are at this request."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api.customer_routes import _customer_id, _runtime
from api.problems import ApiProblem
from api.query_parameters import Declared, codes, whole
from projections import stock_queries
from projections.hot_view_store import HotViewStore
from recommender.config import recommendations_url
from recommender.customer_signals import facts_of
from recommender.rules import InStock
from recommender.serving import CatalogCache, recommend
from recommender.signals import ProductFacts
from recommender.store import RecommendationStore

MAX_LIMIT = 50
VIEWED = codes("viewed", 20, description="SKUs viewed in this session: re-ranks the answer")
LIMIT = whole("limit", 1, MAX_LIMIT, 10)
RECOMMENDATION_PARAMETERS: Declared = {"/customers/{customer_id}/recommendations": (VIEWED, LIMIT)}


async def recommendations(request: Request) -> Response:
    runtime = _runtime(request)
    customer = await run_in_threadpool(runtime.customers.customer, _customer_id(request))
    cache = _cache(request)
    viewed = VIEWED.read(request) or []
    in_stock = _stock_check(runtime.read_side.sinks.hot_views if runtime.read_side else None)
    result = await run_in_threadpool(
        recommend,
        facts_of(customer),
        cache.store,
        cache.current(),
        viewed,
        in_stock,
        LIMIT.value(request),
    )
    body: dict[str, Any] = {
        **result.as_dict(),
        "model": cache.current().version or None,
        "stock_checked": in_stock is not None,
    }
    return Response(orjson.dumps(body), media_type="application/json")


def _cache(request: Request) -> CatalogCache:
    cache: CatalogCache | None = getattr(request.app.state, "recommendations", None)
    if cache is None:
        url = recommendations_url(_runtime(request).settings)
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
            totals = stock_queries.across_locations(views, list(product.skus), today)
            return any(t["available"] > 0 for t in totals)
        return any(
            (found := stock_queries.at_location(views, sku, location, today)) is not None
            and found["available"] > 0
            for sku in product.skus
            for location in locations
        )

    return in_stock
