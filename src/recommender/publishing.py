"""What the batch job publishes: per consenting customer the model's best candidates (found
through the vector index, not by scoring every product) with the history the rules need;
popular-for-skin-type fallbacks; the catalog the rules read; the vector index itself with the
SKU prices. The rules themselves run when the API answers, on the customer's profile and stock
as they are then."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

import numpy as np

from recommender.baselines import popularity
from recommender.features import user_tags
from recommender.hybrid import INTENT_BOOST, HybridModel
from recommender.signals import PURCHASE, LogSignals, ProductFacts
from recommender.store import RecommendationStore
from recommender.vector_index import PROFILE_ORIGIN, VectorIndex, build

CANDIDATES = 100
KNOWN = "bought by customers with a similar routine"
PROFILE_ONLY = PROFILE_ORIGIN


def publish(
    store: RecommendationStore,
    version: str,
    model: HybridModel,
    signals: LogSignals,
    index: VectorIndex | None = None,
) -> int:
    """Everything the API serves from, the vector index first: once `recs:model` names the
    version, its index is there (`index`: the one saved with the version; else built)."""
    memory = MemoryCandidates(model, signals, version, index)
    store.publish_index(version, memory.index.to_bytes(), prices_of(signals))
    entries, withdrawn = customer_entries(memory, signals)
    catalog = catalog_of(signals.products)
    store.publish(version, catalog, memory.popular_lists, entries, withdrawn)
    return len(entries)


def customer_entries(
    memory: MemoryCandidates, signals: LogSignals
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Each consenting customer's entry (those the model can score), and the customers
    without consent, whose entries must go."""
    entries: dict[str, dict[str, Any]] = {}
    withdrawn = []
    for customer_id, facts in signals.customers.items():
        if not facts.may_personalise:
            withdrawn.append(customer_id)
        elif (entry := memory.customer(customer_id)) is not None:
            entries[customer_id] = entry
    return entries, withdrawn


def catalog_of(products: Mapping[str, ProductFacts]) -> dict[str, Any]:
    """The catalog as published: what the rules and the ranking read of every product."""
    return {code: asdict(p) for code, p in products.items()}


class MemoryCandidates:
    """What `publish` writes to Redis, computed in memory: the rule audit serves every list
    through the API's own path (`serving.recommend`) from these."""

    def __init__(
        self,
        model: HybridModel,
        signals: LogSignals,
        version: str = "memory",
        index: VectorIndex | None = None,
    ) -> None:
        self.model, self.signals, self.version = model, signals, version
        self.index = index if index is not None else build(model)
        self._history = _history(signals)
        self._entries: dict[str, dict[str, Any] | None] = {}
        counts = popularity(signals)
        skins = {c.skin_type for c in signals.customers.values() if c.skin_type}
        self.popular_lists = {"any": counts.ranked()[:CANDIDATES]}
        self.popular_lists |= {skin: counts.ranked(skin)[:CANDIDATES] for skin in skins}

    def customer(self, customer_id: str) -> dict[str, Any] | None:
        if customer_id not in self._entries:
            self._entries[customer_id] = self._entry(customer_id)
        return self._entries[customer_id]

    def _entry(self, customer_id: str) -> dict[str, Any] | None:
        facts = self.signals.customers.get(customer_id)
        if facts is None or not facts.may_personalise:
            return None
        if not (self.model.knows(customer_id) or facts.skin_type):
            return None
        return _entry(self.model, self.index, facts, self._history, self.version)

    def popular(self, skin_type: str | None) -> list[str]:
        found = self.popular_lists.get(skin_type) if skin_type else None
        return list(found or self.popular_lists["any"])

    def forget(self, customer_id: str) -> None:
        """Nothing is kept per customer here."""


def _entry(
    model: HybridModel,
    index: VectorIndex,
    facts: Any,
    history: dict[str, dict[str, set[str]]],
    version: str,
) -> dict[str, Any]:
    """The customer's best candidates through the index: their vector as `HybridModel.scores`
    makes it (identity and profile tags), their recent behaviour moving products up."""
    customer_id = facts.customer_id
    row = model.users.rows([(customer_id, user_tags(facts))])
    vector, _ = model.embeddings.users(row)
    user = np.asarray(vector[0], dtype=np.float32)
    found = index.candidates(user, CANDIDATES, model.intent.get(customer_id), INTENT_BOOST)
    mine = history.get(customer_id, {})
    return {
        "model": version,
        "origin": KNOWN if model.knows(customer_id) else PROFILE_ONLY,
        "candidates": [[code, score] for code, score in found],
        "bought": sorted(mine.get("bought", set())),
        "returned": sorted(p for c, p in model.negative if c == customer_id),
        "locations": sorted(mine.get("locations", set())),
    }


def prices_of(signals: LogSignals) -> dict[str, list[list[str]]]:
    """product -> its SKUs' [price, currency, size], as the catalog events last set them."""
    prices: dict[str, list[list[str]]] = defaultdict(list)
    for sku, found in sorted(signals.sku_prices.items()):
        code = signals.sku_products.get(sku)
        if code in signals.products:
            prices[code].append([found.price, found.currency, found.size])
    return dict(prices)


def _history(signals: LogSignals) -> dict[str, dict[str, set[str]]]:
    history: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for i in signals.interactions:
        if i.kind == PURCHASE:
            history[i.customer_id]["bought"].add(i.product_code)
            if i.location:
                history[i.customer_id]["locations"].add(i.location)
    return history
