"""From interactions to one weight per (customer, product): recent purchases count most, a
return cancels its purchase (and more), ratings and wishlists add or take away a little.

Recent behaviour (views, add-to-cart, clicks on a recommendation) is intent, not a purchase:
it weighs far less than a unit bought, fades faster, and can never lift a product out of what
the ledger's facts bar (a return, a poor rating)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from recommender.signals import (
    ADD_TO_CART,
    BEHAVIOUR,
    PURCHASE,
    RATING,
    RECOMMENDATION_CLICK,
    RETURN,
    VIEW,
    WISHLIST,
    Interaction,
)


@dataclass(frozen=True)
class Weighting:
    half_life_days: float | None = 180.0  # None: no recency weighting
    return_penalty: float = 1.5  # per unit returned, against 1 per unit bought
    wishlist: float = 0.5
    rating: float = 1.0  # per star away from 3, over 2 (5 stars +1, 1 star -1)
    max_units: float = 3.0
    # Behaviour, per event (an interaction's value is its decayed count of events).
    view: float = 0.3
    recommendation_click: float = 0.5
    add_to_cart: float = 0.8
    max_behaviour_events: float = 5.0  # more views of one product add nothing
    behaviour_half_life_days: float = 14.0

    def decay(self, at: datetime, now: datetime, half_life_days: float | None = None) -> float:
        half_life = self.half_life_days if half_life_days is None else half_life_days
        if half_life is None:
            return 1.0
        age_days = max((now - at).total_seconds(), 0.0) / 86_400
        return float(0.5 ** (age_days / half_life))

    def recency(self, interaction: Interaction, now: datetime) -> float:
        if interaction.kind in BEHAVIOUR:
            return self.decay(interaction.at, now, self.behaviour_half_life_days)
        return self.decay(interaction.at, now)

    def signal(self, interaction: Interaction) -> float:
        if interaction.kind == PURCHASE:
            return min(interaction.value, self.max_units)
        if interaction.kind == RETURN:
            return -self.return_penalty * interaction.value
        if interaction.kind == RATING:
            return self.rating * (interaction.value - 3.0) / 2.0
        if interaction.kind == WISHLIST:
            return self.wishlist
        if interaction.kind in BEHAVIOUR:
            events = min(max(interaction.value, 0.0), self.max_behaviour_events)
            return self._per_event(interaction.kind) * events
        return 0.0

    def _per_event(self, kind: str) -> float:
        return {
            VIEW: self.view,
            RECOMMENDATION_CLICK: self.recommendation_click,
            ADD_TO_CART: self.add_to_cart,
        }[kind]


@dataclass(frozen=True)
class Preferences:
    positive: dict[tuple[str, str], float]  # (customer, product) -> weight > 0
    negative: set[tuple[str, str]]  # returned or disliked: never suggested again
    # Recent behaviour alone, decayed (the products a customer is looking at now).
    intent: dict[tuple[str, str], float] = field(default_factory=dict)


def weigh(interactions: Iterable[Interaction], now: datetime, weighting: Weighting) -> Preferences:
    ledger: dict[tuple[str, str], float] = defaultdict(float)
    behaviour: dict[tuple[str, str], float] = defaultdict(float)
    for interaction in interactions:
        if interaction.at > now:
            continue
        key = (interaction.customer_id, interaction.product_code)
        found = behaviour if interaction.kind in BEHAVIOUR else ledger
        found[key] += weighting.signal(interaction) * weighting.recency(interaction, now)
    negative = {key for key, weight in ledger.items() if weight < -1e-6}
    totals = {key: ledger.get(key, 0.0) + behaviour.get(key, 0.0) for key in ledger | behaviour}
    positive = {
        key: weight for key, weight in totals.items() if weight > 1e-6 and key not in negative
    }
    intent = {
        key: weight for key, weight in behaviour.items() if weight > 1e-6 and key not in negative
    }
    return Preferences(positive, negative, intent)
