"""The baselines a model must beat: the most popular products, and the most popular among
customers with the same skin type (also the fallback served when there is no personal model)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from recommender.signals import PURCHASE, LogSignals


@dataclass(frozen=True)
class Popularity:
    overall: Counter[str]
    by_skin_type: dict[str, Counter[str]]

    def ranked(self, skin_type: str | None = None) -> list[str]:
        counts = self.by_skin_type.get(skin_type or "", Counter()) if skin_type else Counter()
        # Ties, and products no one of this skin type bought, fall back to overall popularity.
        return sorted(self.overall, key=lambda code: (-counts[code], -self.overall[code], code))


def popularity(signals: LogSignals) -> Popularity:
    overall: Counter[str] = Counter()
    by_skin: dict[str, Counter[str]] = defaultdict(Counter)
    for interaction in signals.interactions:
        if interaction.kind != PURCHASE or interaction.product_code not in signals.products:
            continue
        overall[interaction.product_code] += 1
        customer = signals.customers.get(interaction.customer_id)
        if customer is not None and customer.may_personalise and customer.skin_type:
            by_skin[customer.skin_type][interaction.product_code] += 1
    for code in signals.products:
        overall.setdefault(code, 0)
    return Popularity(overall, dict(by_skin))
