"""Ranking policies: the named ways a list may be ordered within the rules. An experiment's
"rule set" variant names one; offline replay scores one. A policy never touches the safety
rules (allergies, a fragrance-free preference, the EU annexes), which `rule_stage.screen`
applies to every list whatever the policy."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RankingPolicy:
    name: str
    description: str
    personal: bool = True  # False: popular-for-skin-type even for a consenting customer
    session_boost: float = 0.3  # per shared ingredient family with a product just viewed
    promotion_boost: float = 0.5  # standard deviations for a product on promotion now


STANDARD = RankingPolicy("standard", "the personal model, the session and promotions")
POLICIES: dict[str, RankingPolicy] = {
    p.name: p
    for p in (
        STANDARD,
        RankingPolicy(
            "no-promotions",
            "the personal model and the session; promotions do not move a list",
            promotion_boost=0.0,
        ),
        RankingPolicy(
            "no-session",
            "the personal model and promotions; what was just viewed does not move a list",
            session_boost=0.0,
        ),
        RankingPolicy(
            "popular-for-skin-type",
            "what customers with the same skin type buy most, even with consent",
            personal=False,
        ),
    )
}


class UnknownPolicyError(ValueError):
    """A ranking policy was named that does not exist."""


def policy(name: str) -> RankingPolicy:
    found = POLICIES.get(name)
    if found is None:
        known = ", ".join(sorted(POLICIES))
        raise UnknownPolicyError(f"no ranking policy {name!r}; expected one of {known}")
    return found
