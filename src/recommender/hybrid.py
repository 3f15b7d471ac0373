"""The hybrid model: LightFM WARP over customers x products with profile and product features,
trained on recency-weighted interactions of customers who consented to personalisation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import scipy.sparse as sp  # type: ignore[import-untyped]

from recommender.features import FeatureSpace, item_tags, user_tags
from recommender.lightfm_core import Embeddings, Floats, TrainingConfig, train
from recommender.signals import CustomerFacts, LogSignals
from recommender.weighting import Weighting, weigh

INTENT_BOOST = 3.0  # standard deviations for a product with recent behaviour weight >= 1


@dataclass
class HybridModel:
    users: FeatureSpace
    items: FeatureSpace
    product_codes: list[str]
    embeddings: Embeddings
    trained_until: datetime
    position: int
    negative: set[tuple[str, str]] = field(default_factory=set)
    item_vectors: Floats = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    item_bias: Floats = field(default_factory=lambda: np.zeros(0, np.float32))
    # customer -> product index -> recent behaviour's weight; re-ranks their scores. Never
    # saved with the artefact: behaviour is read afresh for every model.
    intent: dict[str, dict[int, float]] = field(default_factory=dict)

    def with_items(self, signals: LogSignals) -> HybridModel:
        """Item representations from identity and tags (new products: tags alone)."""
        rows: list[tuple[str | None, list[str]]] = [
            (code, item_tags(signals.products[code])) for code in self.product_codes
        ]
        vectors, bias = self.embeddings.items(self.items.rows(rows))
        self.item_vectors = np.asarray(vectors, dtype=np.float32)
        self.item_bias = np.asarray(bias, dtype=np.float32)
        return self

    def scores(self, customer: CustomerFacts) -> Floats:
        """One score per product in `product_codes` order."""
        row = self.users.rows([(customer.customer_id, user_tags(customer))])
        vector, _ = self.embeddings.users(row)
        scores = np.asarray(self.item_vectors @ vector[0] + self.item_bias, dtype=np.float32)
        recent = self.intent.get(customer.customer_id)
        if not recent:
            return scores
        # In standard deviations of the customer's own scores: intent moves a product up by
        # up to INTENT_BOOST of them, whatever the scale the model learned.
        spread = float(scores.std()) or 1.0
        at = np.fromiter(recent, dtype=np.int64, count=len(recent))
        boost = np.fromiter(recent.values(), dtype=np.float32, count=len(recent))
        scores[at] += spread * INTENT_BOOST * np.minimum(boost, 1.0)
        return scores

    def knows(self, customer_id: str) -> bool:
        return customer_id in self.users.ids


def fit(
    signals: LogSignals,
    now: datetime,
    config: TrainingConfig | None = None,
    weighting: Weighting | None = None,
) -> HybridModel:
    consented = signals.consented()
    preferences = weigh(consented.interactions, now, weighting or Weighting())
    products = sorted(signals.products)
    positive = {k: w for k, w in preferences.positive.items() if k[1] in signals.products}
    customers = sorted({customer for customer, _ in positive})
    profiles = [signals.customers.get(c, CustomerFacts(c)) for c in customers]
    profile_tags = [
        tag
        for facts in signals.customers.values()
        if facts.may_personalise
        for tag in user_tags(facts)
    ]
    users = FeatureSpace(customers, profile_tags)
    items = FeatureSpace(
        products, [tag for code in products for tag in item_tags(signals.products[code])]
    )
    user_features = users.rows([(p.customer_id, user_tags(p)) for p in profiles])
    item_features = items.rows([(code, item_tags(signals.products[code])) for code in products])
    user_at = {c: n for n, c in enumerate(customers)}
    item_at = {code: n for n, code in enumerate(products)}
    keys = list(positive)
    shape = (len(customers), len(products))
    rows = np.array([user_at[c] for c, _ in keys], dtype=np.int32)
    cols = np.array([item_at[p] for _, p in keys], dtype=np.int32)
    weights = sp.coo_matrix(
        (np.array([positive[k] for k in keys], np.float32), (rows, cols)), shape
    )
    ones = sp.coo_matrix((np.ones(len(keys), np.float32), (rows, cols)), shape)
    embeddings = train(ones, config or TrainingConfig(), user_features, item_features, weights)
    model = HybridModel(
        users, items, products, embeddings, now, signals.position, set(preferences.negative)
    )
    for (customer, code), weight in preferences.intent.items():
        if code in item_at:
            model.intent.setdefault(customer, {})[item_at[code]] = weight
    return model.with_items(signals)
