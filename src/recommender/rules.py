"""Rules applied after scoring. Each exclusion and each boost is named and explained; every
suggestion that survives carries its reasons."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from recommender.dermatology import (
    UNNAMED_FRAGRANCE,
    ProductProfile,
    allergen_hits,
    hidden_in_fragrance,
    profile,
)
from recommender.eu_lists import EuLists, eu_lists
from recommender.ingredient_families import CONCERN_FAMILIES
from recommender.signals import CustomerFacts, ProductFacts, SafetyFacts

InStock = Callable[[ProductFacts, tuple[str, ...]], bool]
CONCERN_BOOST = 0.6
SKIN_BOOST = 0.8
SKIN_MISMATCH = -1.0


@dataclass(frozen=True)
class Suggestion:
    product_code: str
    score: float
    reasons: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "product_code": self.product_code,
            "score": round(self.score, 4),
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True)
class Exclusion:
    product_code: str
    rule: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"product_code": self.product_code, "rule": self.rule, "reason": self.reason}


@dataclass(frozen=True)
class Situation:
    """What the rules need beyond the profile: history and stock."""

    bought: frozenset[str] = frozenset()
    returned: frozenset[str] = frozenset()
    in_stock: InStock | None = None
    locations: tuple[str, ...] = ()


@dataclass
class RuleBook:
    products: dict[str, ProductFacts]
    lists: EuLists = field(default_factory=eu_lists)
    profiles: dict[str, ProductProfile] = field(init=False)

    def __post_init__(self) -> None:
        self.profiles = {code: profile(p, self.lists) for code, p in self.products.items()}

    def exclusion(
        self,
        customer: SafetyFacts | CustomerFacts,
        code: str,
        situation: Situation,
        stock: bool = True,
    ) -> Exclusion | None:
        """Why `code` may not be shown; of a customer's facts only the safety facts count."""
        safety = customer.safety if isinstance(customer, CustomerFacts) else customer
        found = self.profiles[code]
        product = found.product
        checks: list[tuple[str, str | None]] = [
            ("discontinued", "no longer sold" if product.discontinued else None),
            ("eu_restriction", found.eu_exclusion),
            ("allergen", _allergen(found, safety, self.lists)),
            ("preference", _preference(found, safety)),
            ("returned", "you returned it" if code in situation.returned else None),
            ("single_purchase", _single(found, code, situation)),
        ]
        for rule, reason in checks:
            if reason:
                return Exclusion(code, rule, reason)
        out_of_stock = _stock(product, situation) if stock else None
        return Exclusion(code, "out_of_stock", out_of_stock) if out_of_stock else None

    def rank(
        self,
        safety: SafetyFacts,
        profile: CustomerFacts | None,
        scored: Iterable[tuple[str, float]],
        situation: Situation,
        origin: str,
        limit: int = 10,
    ) -> tuple[list[Suggestion], list[Exclusion]]:
        """Best first after boosts; stock is checked last, only until `limit` are found. The
        safety facts only exclude; the profile (None without consent) only boosts and explains."""
        ranked: list[Suggestion] = []
        excluded: list[Exclusion] = []
        for code, score in scored:
            if code not in self.profiles:
                continue
            barred = self.exclusion(safety, code, situation, stock=False)
            if barred:
                excluded.append(barred)
                continue
            boost, reasons = self.explain(profile, code) if profile else (0.0, [])
            ranked.append(Suggestion(code, score + boost, (*reasons, origin)))
        ranked.sort(key=lambda s: (-s.score, s.product_code))
        kept: list[Suggestion] = []
        for suggestion in ranked:
            if len(kept) == limit:
                break
            missing = _stock(self.profiles[suggestion.product_code].product, situation)
            if missing:
                excluded.append(Exclusion(suggestion.product_code, "out_of_stock", missing))
            else:
                kept.append(suggestion)
        return kept, excluded

    def explain(self, customer: CustomerFacts, code: str) -> tuple[float, list[str]]:
        found = self.profiles[code]
        boost, reasons = 0.0, []
        if customer.skin_type and found.product.skin_types:
            if customer.skin_type in found.product.skin_types:
                boost += SKIN_BOOST
                reasons.append(f"suits {customer.skin_type} skin")
            else:
                boost += SKIN_MISMATCH
        for concern in customer.concerns:
            for family in CONCERN_FAMILIES.get(concern, ()):
                if family in found.families:
                    boost += CONCERN_BOOST
                    words = ", ".join(n.lower() for n in found.families[family][:2])
                    reasons.append(f"{words} for {concern}")
                    break
        if customer.safety.fragrance_free and not found.fragranced:
            reasons.append("fragrance-free")
        return boost, reasons


def _allergen(found: ProductProfile, safety: SafetyFacts, lists: EuLists) -> str | None:
    hits = allergen_hits(found, safety.allergies, lists)
    if hits:
        return f"contains {', '.join(hits)}, which you are sensitive to"
    hidden = hidden_in_fragrance(found, safety.allergies, lists)
    if hidden:
        unnamed = sorted(found.names & UNNAMED_FRAGRANCE)[0].upper()
        return f"its {unnamed} may hold {', '.join(hidden)}, which you are sensitive to"
    return None


def _preference(found: ProductProfile, safety: SafetyFacts) -> str | None:
    if safety.fragrance_free and found.fragranced:
        names = ", ".join(found.families["fragrance"][:3])
        return f"contains fragrance ({names}); you prefer fragrance-free"
    return None


def _single(found: ProductProfile, code: str, situation: Situation) -> str | None:
    if found.single_purchase and code in situation.bought:
        return "you already have it (bought once, lasts)"
    return None


def _stock(product: ProductFacts, situation: Situation) -> str | None:
    if situation.in_stock is None or situation.in_stock(product, situation.locations):
        return None
    where = ", ".join(situation.locations) if situation.locations else "any location"
    return f"out of stock at {where}"
