"""The one stage every served list passes through, whatever produced its candidates: the
personal model, popularity, popularity for a skin type, a session's re-ranking.

A customer's safety facts (declared allergies, a fragrance-free preference) exclude on every
list, consented or not; the EU annexes exclude for everyone. The rest of the profile (skin type,
concerns, purchases, returns, locations) boosts, explains and excludes only with the
`personalisation` consent. A `Recommendation` can only be made here, so no list reaches a
customer without having been screened."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import InitVar, dataclass, field
from enum import StrEnum
from typing import Any

from recommender.rules import Exclusion, RuleBook, Situation, Suggestion
from recommender.signals import CustomerFacts


class ListKind(StrEnum):
    PERSONAL = "personal"
    FOR_SKIN_TYPE = "popular_for_skin_type"
    POPULAR = "popular"
    SIMILAR = "similar"  # products like one product (GET /products/{code}/similar)

    @property
    def ranked_with_profile(self) -> bool:
        """Whether the candidates were chosen with the customer's profile (needs consent)."""
        return self not in (ListKind.POPULAR, ListKind.SIMILAR)


class UnscreenedListError(TypeError):
    """A list was about to be served without passing the rule stage."""


@dataclass(frozen=True)
class Candidates:
    """What a source proposes, best first, before any rule: scores, where they come from, and
    the session's and promotions' reasons for the products they moved up."""

    kind: ListKind
    origin: str
    scored: Sequence[tuple[str, float]]
    session_reasons: Mapping[str, str] = field(default_factory=dict)
    promotion_reasons: Mapping[str, str] = field(default_factory=dict)
    # the source's own reasons per product (a similar product's shared ingredient families,
    # a lower price), said after the rules' and the origin
    reasons: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


_SCREENED = object()


@dataclass(frozen=True)
class Recommendation:
    customer_id: str
    kind: ListKind
    suggestions: list[Suggestion]
    excluded: list[Exclusion] = field(default_factory=list)
    screened: InitVar[object] = None

    def __post_init__(self, screened: object) -> None:
        if screened is not _SCREENED:
            raise UnscreenedListError("a list is served only as rule_stage.screen returns it")

    def as_dict(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "kind": self.kind.value,
            "suggestions": [s.as_dict() for s in self.suggestions],
            "excluded": [e.as_dict() for e in self.excluded],
        }


def screen(
    rules: RuleBook,
    customer: CustomerFacts,
    candidates: Candidates,
    situation: Situation,
    limit: int = 10,
) -> Recommendation:
    """The customer's list: candidates the rules let through, boosted and explained."""
    profile = customer if customer.may_personalise else None
    if profile is None:
        if candidates.kind.ranked_with_profile:
            raise UnscreenedListError(f"a {candidates.kind} list needs personalisation consent")
        situation = Situation(in_stock=situation.in_stock)  # their history is profile too
    kept, excluded = rules.rank(
        customer.safety, profile, candidates.scored, situation, candidates.origin, limit
    )
    own, once = candidates.reasons, (candidates.session_reasons, candidates.promotion_reasons)
    kept = [
        Suggestion(
            s.product_code,
            s.score,
            (
                *s.reasons,
                *own.get(s.product_code, ()),
                *(found[s.product_code] for found in once if s.product_code in found),
            ),
        )
        for s in kept
    ]
    return Recommendation(customer.customer_id, candidates.kind, kept, excluded, _SCREENED)
