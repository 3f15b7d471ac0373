"""What the batch job publishes: per consenting customer the model's best candidates with the
history the rules need; popular-for-skin-type fallbacks; the catalog the rules read. The rules
themselves run when the API answers, on the customer's profile and stock as they are then."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict
from typing import Any

import numpy as np

from recommender.baselines import popularity
from recommender.hybrid import HybridModel
from recommender.signals import PURCHASE, LogSignals
from recommender.store import RecommendationStore

CANDIDATES = 100
KNOWN = "bought by customers with a similar routine"
PROFILE_ONLY = "chosen for customers with your skin profile"


def publish(
    store: RecommendationStore, version: str, model: HybridModel, signals: LogSignals
) -> int:
    memory = MemoryCandidates(model, signals, version)
    entries: dict[str, dict[str, Any]] = {}
    withdrawn = []
    for customer_id, facts in signals.customers.items():
        if not facts.may_personalise:
            withdrawn.append(customer_id)
        elif (entry := memory.customer(customer_id)) is not None:
            entries[customer_id] = entry
    catalog = {code: asdict(p) for code, p in signals.products.items()}
    store.publish(version, catalog, memory.popular_lists, entries, withdrawn)
    return len(entries)


class MemoryCandidates:
    """What `publish` writes to Redis, computed in memory: the rule audit serves every list
    through the API's own path (`serving.recommend`) from these."""

    def __init__(self, model: HybridModel, signals: LogSignals, version: str = "memory") -> None:
        self.model, self.signals, self.version = model, signals, version
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
        return _entry(self.model, customer_id, facts, self._history, self.version)

    def popular(self, skin_type: str | None) -> list[str]:
        found = self.popular_lists.get(skin_type) if skin_type else None
        return list(found or self.popular_lists["any"])

    def forget(self, customer_id: str) -> None:
        """Nothing is kept per customer here."""


def _entry(
    model: HybridModel,
    customer_id: str,
    facts: Any,
    history: dict[str, dict[str, set[str]]],
    version: str,
) -> dict[str, Any]:
    scores = model.scores(facts)
    spread = float(scores.std()) or 1.0
    top = np.argsort(-scores)[:CANDIDATES]
    mine = history.get(customer_id, {})
    return {
        "model": version,
        "origin": KNOWN if model.knows(customer_id) else PROFILE_ONLY,
        "candidates": [
            [model.product_codes[i], round(float((scores[i] - scores.mean()) / spread), 4)]
            for i in top
        ],
        "bought": sorted(mine.get("bought", set())),
        "returned": sorted(p for c, p in model.negative if c == customer_id),
        "locations": sorted(mine.get("locations", set())),
    }


def _history(signals: LogSignals) -> dict[str, dict[str, set[str]]]:
    history: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for i in signals.interactions:
        if i.kind == PURCHASE:
            history[i.customer_id]["bought"].add(i.product_code)
            if i.location:
                history[i.customer_id]["locations"].add(i.location)
    return history
