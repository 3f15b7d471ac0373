"""One customer's suggestions: the personal model when they consented to personalisation,
popular-for-their-skin-type when there is no personal model, plain popularity without consent.
The rules run after scoring in every case."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recommender.baselines import Popularity
from recommender.hybrid import HybridModel
from recommender.rules import Exclusion, RuleBook, Situation, Suggestion
from recommender.signals import CustomerFacts

PERSONAL = "personal"
FOR_SKIN_TYPE = "popular_for_skin_type"
POPULAR = "popular"
CANDIDATES = 200


@dataclass(frozen=True)
class Recommendation:
    customer_id: str
    kind: str
    suggestions: list[Suggestion]
    excluded: list[Exclusion] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "kind": self.kind,
            "suggestions": [s.as_dict() for s in self.suggestions],
        }


@dataclass
class Recommender:
    rules: RuleBook
    popularity: Popularity
    model: HybridModel | None = None

    def recommend(
        self, customer: CustomerFacts, situation: Situation, limit: int = 10
    ) -> Recommendation:
        if not customer.may_personalise:
            anonymous = CustomerFacts(customer.customer_id)  # the profile may not be used
            ranked = _by_rank(self.popularity.ranked())
            return self._ranked(
                anonymous, ranked, situation, POPULAR, "popular with our customers", limit
            )
        if self.model is not None and (
            self.model.knows(customer.customer_id) or customer.skin_type
        ):
            scores = _standardised(self.model.scores(customer))
            pairs = sorted(zip(self.model.product_codes, scores, strict=True), key=lambda p: -p[1])
            origin = (
                "bought by customers with a similar routine"
                if self.model.knows(customer.customer_id)
                else "chosen for customers with your skin profile"
            )
            return self._ranked(customer, pairs[:CANDIDATES], situation, PERSONAL, origin, limit)
        ranked = _by_rank(self.popularity.ranked(customer.skin_type))
        origin = f"popular with {customer.skin_type} skin" if customer.skin_type else "popular"
        return self._ranked(customer, ranked, situation, FOR_SKIN_TYPE, origin, limit)

    def _ranked(
        self,
        customer: CustomerFacts,
        pairs: list[tuple[str, float]],
        situation: Situation,
        kind: str,
        origin: str,
        limit: int,
    ) -> Recommendation:
        kept, excluded = self.rules.rank(customer, pairs, situation, origin, limit)
        return Recommendation(customer.customer_id, kind, kept, excluded)


def _standardised(scores: np.ndarray) -> list[float]:
    spread = float(scores.std()) or 1.0
    return [float(v) for v in (scores - scores.mean()) / spread]


def _by_rank(ranked: list[str]) -> list[tuple[str, float]]:
    """Popularity ranks as scores on the model's scale (top ~ +2, median ~ 0)."""
    size = max(len(ranked), 1)
    return [(code, 2.0 - 4.0 * n / size) for n, code in enumerate(ranked[:CANDIDATES])]
