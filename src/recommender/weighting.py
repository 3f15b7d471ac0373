"""From interactions to one weight per (customer, product): recent purchases count most, a
return cancels its purchase (and more), ratings and wishlists add or take away a little."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from recommender.signals import PURCHASE, RATING, RETURN, WISHLIST, Interaction


@dataclass(frozen=True)
class Weighting:
    half_life_days: float | None = 180.0  # None: no recency weighting
    return_penalty: float = 1.5  # per unit returned, against 1 per unit bought
    wishlist: float = 0.5
    rating: float = 1.0  # per star away from 3, over 2 (5 stars +1, 1 star -1)
    max_units: float = 3.0

    def decay(self, at: datetime, now: datetime) -> float:
        if self.half_life_days is None:
            return 1.0
        age_days = max((now - at).total_seconds(), 0.0) / 86_400
        return float(0.5 ** (age_days / self.half_life_days))

    def signal(self, interaction: Interaction) -> float:
        if interaction.kind == PURCHASE:
            return min(interaction.value, self.max_units)
        if interaction.kind == RETURN:
            return -self.return_penalty * interaction.value
        if interaction.kind == RATING:
            return self.rating * (interaction.value - 3.0) / 2.0
        if interaction.kind == WISHLIST:
            return self.wishlist
        return 0.0


@dataclass(frozen=True)
class Preferences:
    positive: dict[tuple[str, str], float]  # (customer, product) -> weight > 0
    negative: set[tuple[str, str]]  # returned or disliked: never suggested again


def weigh(interactions: Iterable[Interaction], now: datetime, weighting: Weighting) -> Preferences:
    totals: dict[tuple[str, str], float] = defaultdict(float)
    for interaction in interactions:
        if interaction.at > now:
            continue
        key = (interaction.customer_id, interaction.product_code)
        totals[key] += weighting.signal(interaction) * weighting.decay(interaction.at, now)
    positive = {key: weight for key, weight in totals.items() if weight > 1e-6}
    negative = {key for key, weight in totals.items() if weight < -1e-6}
    return Preferences(positive, negative)
