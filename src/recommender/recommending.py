"""One customer's suggestions offline (evaluation, audit, uptake): the personal model when they
consented to personalisation, popular-for-their-skin-type when there is no personal model, plain
popularity without consent. Every list passes the rule stage (`rule_stage.screen`)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np

from recommender.baselines import Popularity
from recommender.hybrid import HybridModel
from recommender.promotion_boost import promoted
from recommender.ranking_policies import STANDARD, RankingPolicy
from recommender.rule_stage import Candidates, ListKind, Recommendation, screen
from recommender.rules import RuleBook, Situation
from recommender.signals import CustomerFacts

PERSONAL = ListKind.PERSONAL
FOR_SKIN_TYPE = ListKind.FOR_SKIN_TYPE
POPULAR = ListKind.POPULAR
CANDIDATES = 200
__all__ = ["FOR_SKIN_TYPE", "PERSONAL", "POPULAR", "Recommendation", "Recommender"]


@dataclass
class Recommender:
    rules: RuleBook
    popularity: Popularity
    model: HybridModel | None = None

    def recommend(
        self,
        customer: CustomerFacts,
        situation: Situation,
        limit: int = 10,
        policy: RankingPolicy = STANDARD,
        at: datetime | None = None,
        channel: str | None = None,
    ) -> Recommendation:
        """As the API would serve it at `at` on `channel` under `policy` (no session)."""
        candidates = self.candidates(customer, policy)
        scored, reasons = promoted(candidates.scored, self.rules.products, policy, at, channel)
        candidates = replace(candidates, scored=scored, promotion_reasons=reasons)
        return screen(self.rules, customer, candidates, situation, limit)

    def candidates(self, customer: CustomerFacts, policy: RankingPolicy = STANDARD) -> Candidates:
        """The list this customer is served, before the rules; without consent, popularity
        alone (their profile chooses nothing); a non-personal policy skips the model."""
        if not customer.may_personalise:
            ranked = _by_rank(self.popularity.ranked())
            return Candidates(POPULAR, "popular with our customers", ranked)
        if (
            self.model is not None
            and policy.personal
            and (self.model.knows(customer.customer_id) or customer.skin_type)
        ):
            scores = _standardised(self.model.scores(customer))
            pairs = sorted(zip(self.model.product_codes, scores, strict=True), key=lambda p: -p[1])
            origin = (
                "bought by customers with a similar routine"
                if self.model.knows(customer.customer_id)
                else "chosen for customers with your skin profile"
            )
            return Candidates(PERSONAL, origin, pairs[:CANDIDATES])
        ranked = _by_rank(self.popularity.ranked(customer.skin_type))
        origin = f"popular with {customer.skin_type} skin" if customer.skin_type else "popular"
        return Candidates(FOR_SKIN_TYPE, origin, ranked)


def _standardised(scores: np.ndarray) -> list[float]:
    spread = float(scores.std()) or 1.0
    return [float(v) for v in (scores - scores.mean()) / spread]


def _by_rank(ranked: list[str]) -> list[tuple[str, float]]:
    """Popularity ranks as scores on the model's scale (top ~ +2, median ~ 0)."""
    size = max(len(ranked), 1)
    return [(code, 2.0 - 4.0 * n / size) for n, code in enumerate(ranked[:CANDIDATES])]
