"""Answering one request from what the batch job published: the customer's precomputed
candidates (or, for a consenting customer with a skin profile the last model did not know,
candidates found through the published vector index from their profile; else
popular-for-their-skin-type, or plain popularity without consent), re-ranked with the session
(what was viewed), then the rule stage on the customer's safety facts, profile (with consent)
and stock as they are now."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from recommender.features import user_tags
from recommender.inventory_signals import promotions_of
from recommender.promotion_boost import promoted
from recommender.ranking_policies import STANDARD, RankingPolicy
from recommender.rule_stage import Candidates, ListKind, Recommendation, screen
from recommender.rules import InStock, RuleBook, Situation
from recommender.signals import CustomerFacts, ProductFacts
from recommender.store import RecommendationStore
from recommender.vector_index import PROFILE_ORIGIN, VectorIndex

PERSONAL, FOR_SKIN_TYPE, POPULAR = ListKind.PERSONAL, ListKind.FOR_SKIN_TYPE, ListKind.POPULAR

SEEN_PENALTY = 0.5
CANDIDATES = 100  # as many as the batch job publishes a customer


@dataclass
class Catalog:
    version: str
    rules: RuleBook
    sku_products: dict[str, str]
    vectors: VectorIndex | None = None  # the model's vector index, when it was published
    prices: dict[str, list[list[str]]] = field(default_factory=dict)  # [price, currency, size]
    revision: int = 0  # the catalog's (`RecommendationStore.publish_catalog`)


class CatalogCache:
    """The rule book and the vector index of the published model, kept in memory: the rule
    book loaded again when a new model or a new catalog is published (promotions, products
    defined or discontinued between models), the index when a new model is."""

    def __init__(self, store: RecommendationStore) -> None:
        self.store = store
        self._current: Catalog | None = None

    def current(self) -> Catalog:
        """One read a request (the model's version and the catalog's revision); the catalog
        again when either changed, the index only when the version did."""
        version, revision = self.store.state()
        found = self._current
        if found is not None and (found.version, found.revision) == (version, revision):
            return found
        version, raw = self.store.catalog()
        products = {code: _product(p) for code, p in raw.items()}
        skus = {sku: code for code, p in products.items() for sku in p.skus}
        vectors: VectorIndex | None = None
        if found is not None and found.version == version and found.vectors is not None:
            vectors, prices = found.vectors, found.prices
        else:
            vectors, prices = self._index(version)
        self._current = Catalog(version, RuleBook(products), skus, vectors, prices, revision)
        return self._current

    def _index(self, version: str) -> tuple[VectorIndex | None, dict[str, list[list[str]]]]:
        """The index published with this version; none if the one in Redis is another's (a
        newer model is being published: the next request loads both anew)."""
        found = self.store.index()
        if found is None or found[0] != version:
            return None, {}
        return VectorIndex.from_bytes(found[1]), found[2]


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
        promotions_of(raw.get("promotions") or []),  # absent from catalogs published before
    )


class CandidateSource(Protocol):
    """Where candidates come from: what the batch job published (`RecommendationStore`), or
    the same computed in memory (`publishing.MemoryCandidates`, for the audit)."""

    def customer(self, customer_id: str) -> dict[str, Any] | None: ...

    def popular(self, skin_type: str | None) -> list[str]: ...

    def forget(self, customer_id: str) -> None: ...


def recommend(
    customer: CustomerFacts,
    store: CandidateSource,
    catalog: Catalog,
    viewed: Sequence[str] = (),
    in_stock: InStock | None = None,
    limit: int = 10,
    policy: RankingPolicy = STANDARD,
    at: datetime | None = None,
    channel: str | None = None,
) -> Recommendation:
    """`at` is the moment of the request and `channel` its channel: a promotion active then on
    that channel (or on every channel) moves its product up by `policy.promotion_boost`."""
    candidates, history = _candidates(customer, store, policy, catalog.vectors)
    situation = Situation(
        bought=frozenset(history.get("bought", ())),
        returned=frozenset(history.get("returned", ())),
        in_stock=in_stock,
        locations=tuple(history.get("locations", ())),
    )
    scored, session_reasons = _session(list(candidates.scored), viewed, catalog, policy)
    scored, promotion_reasons = promoted(scored, catalog.rules.products, policy, at, channel)
    session = replace(
        candidates,
        scored=scored,
        session_reasons=session_reasons,
        promotion_reasons=promotion_reasons,
    )
    return screen(catalog.rules, customer, session, situation, limit)


def _candidates(
    customer: CustomerFacts,
    store: CandidateSource,
    policy: RankingPolicy,
    vectors: VectorIndex | None = None,
) -> tuple[Candidates, dict[str, Any]]:
    """The list before any rule, and the history the batch job published with it."""
    if not customer.may_personalise:
        store.forget(customer.customer_id)  # what was computed from their data goes at once
        ranked = _ranked(store.popular(None))
        return Candidates(POPULAR, "popular with our customers", ranked), {}
    entry = store.customer(customer.customer_id) if policy.personal else None
    if entry is not None:
        scored = [(str(code), float(score)) for code, score in entry["candidates"]]
        return Candidates(PERSONAL, str(entry["origin"]), scored), entry
    found = _from_profile(customer, vectors) if policy.personal else None
    if found:
        return Candidates(PERSONAL, PROFILE_ORIGIN, found), {}
    skin = customer.skin_type
    origin = f"popular with {skin} skin" if skin else "popular"
    return Candidates(FOR_SKIN_TYPE, origin, _ranked(store.popular(skin))), {}


def _from_profile(
    customer: CustomerFacts, vectors: VectorIndex | None
) -> list[tuple[str, float]] | None:
    """A consenting customer with a skin profile and no published entry (registered after the
    last model): their vector from their profile tags, their candidates from the index."""
    if vectors is None or not customer.skin_type:
        return None
    user = vectors.profile_vector(user_tags(customer))
    return None if user is None else vectors.candidates(user, CANDIDATES)


def _ranked(codes: list[str]) -> list[tuple[str, float]]:
    size = max(len(codes), 1)
    return [(code, 2.0 - 4.0 * n / size) for n, code in enumerate(codes)]


def _session(
    pairs: list[tuple[str, float]],
    viewed: Sequence[str],
    catalog: Catalog,
    policy: RankingPolicy,
) -> tuple[list[tuple[str, float]], dict[str, str]]:
    """Products that share ingredient families with what was just viewed move up; the viewed
    products themselves move down (the customer has seen them)."""
    products, profiles = catalog.rules.products, catalog.rules.profiles
    seen = [catalog.sku_products.get(sku, sku) for sku in viewed]
    seen = [code for code in seen if code in products]
    if not seen:
        return pairs, {}
    seen_tags = {code: set(profiles[code].families) for code in seen}
    reasons: dict[str, str] = {}
    out = []
    for code, score in pairs:
        if code in seen_tags:
            out.append((code, score - SEEN_PENALTY))
            continue
        tags = set(profiles[code].families) if code in profiles else set()
        best = max(seen, key=lambda s: len(tags & seen_tags[s]))
        shared = len(tags & seen_tags[best])
        if shared:
            reasons[code] = f"goes with {products[best].name or best}, which you viewed"
        out.append((code, score + policy.session_boost * min(shared, 2)))
    return out, reasons
