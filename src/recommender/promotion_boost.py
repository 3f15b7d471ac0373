"""Promotions as an input to ranking: a product with a promotion active at the moment of the
request, on the request's channel (every channel when the promotion names none), moves up by
the ranking policy's `promotion_boost`, with the promotion as a reason. Only the order
changes: the rule stage still decides what is served, so a promoted allergen stays excluded."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from domain.promotions import Promotion
from recommender.ranking_policies import RankingPolicy
from recommender.signals import ProductFacts


def active_promotion(
    product: ProductFacts | None, at: datetime, channel: str | None
) -> Promotion | None:
    """The promotion of `product` active at `at` on `channel`, if any (the domain allows at
    most one per channel at a time; the deepest discount if the data says otherwise)."""
    if product is None:
        return None
    found = [p for p in product.promotions if p.active(at, channel)]
    return max(found, key=lambda p: (p.discount_percent, p.promotion_id)) if found else None


def reason(promotion: Promotion, at: datetime) -> str:
    """ "on promotion: 20% off until 12 December" (the year too when it is not `at`'s)."""
    ends = promotion.ends
    day = f"{ends.day} {ends:%B}" + (f" {ends.year}" if ends.year != at.year else "")
    return f"on promotion: {promotion.discount_percent}% off until {day}"


def promoted(
    scored: Sequence[tuple[str, float]],
    products: Mapping[str, ProductFacts],
    policy: RankingPolicy,
    at: datetime | None,
    channel: str | None,
) -> tuple[list[tuple[str, float]], dict[str, str]]:
    """The candidates with promoted products' scores raised, and the reason for each. Nothing
    moves without a moment (`at`) or under a policy that gives promotions no weight."""
    if at is None or policy.promotion_boost <= 0:
        return list(scored), {}
    out: list[tuple[str, float]] = []
    reasons: dict[str, str] = {}
    for code, score in scored:
        found = active_promotion(products.get(code), at, channel)
        if found is None:
            out.append((code, score))
            continue
        out.append((code, score + policy.promotion_boost))
        reasons[code] = reason(found, at)
    return out, reasons
