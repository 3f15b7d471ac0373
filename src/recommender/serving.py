"""Answering one request from what the batch job published: the customer's precomputed
candidates (or popular-for-their-skin-type), re-ranked with the session (what was viewed), then
the rules on the customer's profile and stock as they are now."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from recommender.features import item_tags
from recommender.recommending import FOR_SKIN_TYPE, PERSONAL, POPULAR, Recommendation
from recommender.rules import InStock, RuleBook, Situation
from recommender.signals import CustomerFacts, ProductFacts
from recommender.store import RecommendationStore

SESSION_BOOST = 0.3
SEEN_PENALTY = 0.5


@dataclass
class Catalog:
    version: str
    rules: RuleBook
    sku_products: dict[str, str]


class CatalogCache:
    """The rule book for the published model, rebuilt when a new model is published."""

    def __init__(self, store: RecommendationStore) -> None:
        self.store = store
        self._current: Catalog | None = None

    def current(self) -> Catalog:
        version, raw = self.store.catalog()
        if self._current is None or self._current.version != version:
            products = {code: _product(p) for code, p in raw.items()}
            skus = {sku: code for code, p in products.items() for sku in p.skus}
            self._current = Catalog(version, RuleBook(products), skus)
        return self._current


def _product(raw: dict[str, Any]) -> ProductFacts:
    return ProductFacts(
        str(raw["product_code"]),
        str(raw["category"]),
        tuple(raw["inci"]),
        tuple(raw["skin_types"]),
        tuple(raw["skus"]),
        str(raw["name"]),
        str(raw["brand"]),
        bool(raw["discontinued"]),
    )


def recommend(
    customer: CustomerFacts,
    store: RecommendationStore,
    catalog: Catalog,
    viewed: Sequence[str] = (),
    in_stock: InStock | None = None,
    limit: int = 10,
) -> Recommendation:
    entry = store.customer(customer.customer_id) if customer.may_personalise else None
    if not customer.may_personalise:
        store.forget(customer.customer_id)  # what was computed from their data goes at once
        customer = CustomerFacts(customer.customer_id)  # no profile without consent
        kind, origin = POPULAR, "popular with our customers"
        pairs = _ranked(store.popular(None))
    elif entry is not None:
        kind, origin = PERSONAL, str(entry["origin"])
        pairs = [(str(code), float(score)) for code, score in entry["candidates"]]
    else:
        kind = FOR_SKIN_TYPE
        origin = f"popular with {customer.skin_type} skin" if customer.skin_type else "popular"
        pairs = _ranked(store.popular(customer.skin_type))
    history = entry or {}
    situation = Situation(
        bought=frozenset(history.get("bought", ())),
        returned=frozenset(history.get("returned", ())),
        in_stock=in_stock,
        locations=tuple(history.get("locations", ())),
    )
    pairs, session_reasons = _session(pairs, viewed, catalog)
    kept, excluded = catalog.rules.rank(customer, pairs, situation, origin, limit)
    kept = [
        s
        if s.product_code not in session_reasons
        else type(s)(s.product_code, s.score, (*s.reasons, session_reasons[s.product_code]))
        for s in kept
    ]
    return Recommendation(customer.customer_id, kind, kept, excluded)


def _ranked(codes: list[str]) -> list[tuple[str, float]]:
    size = max(len(codes), 1)
    return [(code, 2.0 - 4.0 * n / size) for n, code in enumerate(codes)]


def _session(
    pairs: list[tuple[str, float]], viewed: Sequence[str], catalog: Catalog
) -> tuple[list[tuple[str, float]], dict[str, str]]:
    """Products that share ingredient families with what was just viewed move up; the viewed
    products themselves move down (the customer has seen them)."""
    products = catalog.rules.products
    seen = [catalog.sku_products.get(sku, sku) for sku in viewed]
    seen = [code for code in seen if code in products]
    if not seen:
        return pairs, {}
    seen_tags = {code: set(item_tags(products[code])) for code in seen}
    reasons: dict[str, str] = {}
    out = []
    for code, score in pairs:
        if code in seen_tags:
            out.append((code, score - SEEN_PENALTY))
            continue
        tags = (
            {t for t in item_tags(products[code]) if t.startswith("family:")}
            if code in products
            else set()
        )
        best = max(seen, key=lambda s: len(tags & seen_tags[s]))
        shared = len(tags & seen_tags[best])
        if shared:
            reasons[code] = f"goes with {products[best].name or best}, which you viewed"
        out.append((code, score + SESSION_BOOST * min(shared, 2)))
    return out, reasons
