"""A warm update: the serving model's LightFM state continued with `fit_partial` on what is new,
instead of a fit from scratch (`hybrid.fit`).

- **What it learns from**: the customers the new interactions touch, each with their whole
  recency-weighted history (weighed as `hybrid.fit` weighs it, `weighting.weigh` over every
  interaction up to the update): a return in the new batch cancels a purchase made months ago,
  and a customer's embedding moves towards all they like, not only towards what they bought
  this hour. Customers the batch does not touch keep their rows as they were.
- **What grows**: a new customer gets an identity row, a new product one too, a new profile or
  product tag a tag row; each starts as LightFM starts a feature. Products are described by
  their tags, so a new product is scored from its category, brand, ingredient families and
  skin types until its own row learns from its sales.
- **What shrinks**: a customer who withdrew the personalisation consent or was forgotten loses
  their identity row at once (the next full retrain forgets them entirely).
- **Time**: `trained_until` is the update's time; recency weights are as of then.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import numpy as np
import scipy.sparse as sp  # type: ignore[import-untyped]

from recommender.features import item_tags, user_tags
from recommender.hybrid import HybridModel, completed
from recommender.lightfm_core import TrainingConfig, continue_training, grown
from recommender.signals import CustomerFacts, Interaction, LogSignals
from recommender.weighting import Weighting, weigh

WARM_EPOCHS = 5  # passes of fit_partial over the touched customers' histories


def warm_update(
    serving: HybridModel,
    signals: LogSignals,
    fresh: Iterable[Interaction],
    now: datetime,
    config: TrainingConfig | None = None,
    epochs: int = WARM_EPOCHS,
) -> HybridModel:
    """A new model: `serving` continued on `signals` (everything it may learn from, up to
    now) for the customers `fresh` (the interactions since the serving model) touch."""
    config = config or TrainingConfig()
    consented = signals.consented()
    preferences = weigh(consented.interactions, now, Weighting())
    products = sorted(signals.products)
    touched = {i.customer_id for i in fresh}
    positive = {
        key: weight for key, weight in preferences.positive.items() if key[1] in signals.products
    }
    learners = {customer for customer, _ in positive}
    allowed = {c for c, facts in signals.customers.items() if facts.may_personalise}
    customers = [c for c in serving.users.ids if c in allowed] + sorted(
        learners - set(serving.users.ids)
    )
    profile_tags = [
        tag
        for facts in signals.customers.values()
        if facts.may_personalise
        for tag in user_tags(facts)
    ]
    users, user_rows = serving.users.grown(customers, profile_tags)
    items, item_rows = serving.items.grown(
        products, [tag for code in products for tag in item_tags(signals.products[code])]
    )
    embeddings = grown(serving.embeddings, user_rows, item_rows, config.components, config.seed)

    order = list(users.ids)
    profiles = [signals.customers.get(c, CustomerFacts(c)) for c in order]
    user_features = users.rows([(p.customer_id, user_tags(p)) for p in profiles])
    item_features = items.rows([(code, item_tags(signals.products[code])) for code in products])
    user_at = {c: n for n, c in enumerate(order)}
    item_at = {code: n for n, code in enumerate(products)}
    keys = [key for key in positive if key[0] in touched and key[0] in user_at]
    shape = (len(order), len(products))
    if keys:
        rows = np.array([user_at[c] for c, _ in keys], dtype=np.int32)
        cols = np.array([item_at[p] for _, p in keys], dtype=np.int32)
        weights = sp.coo_matrix(
            (np.array([positive[k] for k in keys], np.float32), (rows, cols)), shape
        )
        ones = sp.coo_matrix((np.ones(len(keys), np.float32), (rows, cols)), shape)
        embeddings = continue_training(
            embeddings, ones, config, user_features, item_features, weights, epochs
        )
    model = HybridModel(
        users, items, products, embeddings, now, signals.position, set(preferences.negative)
    )
    return completed(model, signals, preferences, now)
