"""Similar products ("dupes"): the products closest to one product by the model's item vectors
(cosine, through the vector index) AND by what they are made of (the ingredient families they
share, from the rule book's profiles) and what they are (the same category), each explained:
which families they share, and when it costs less, that it is a cheaper alternative.

The list then passes the rule stage like every served list (`ListKind.SIMILAR`): the EU
annexes and discontinued products for everyone, the asking customer's safety facts (allergies,
fragrance-free) always, their profile, purchases and returns only with their consent."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from recommender.rule_stage import Candidates, ListKind, Recommendation, screen
from recommender.rules import Situation
from recommender.serving import Catalog
from recommender.signals import CustomerFacts

LIKENESS, FAMILIES, CATEGORY = 0.45, 0.30, 0.25  # the blend's weights, summing to 1
NEIGHBOURS = 100  # products read from the index before blending and the rules
CLOSE = 0.5  # item-vector cosine from which "the same customers choose it" is said
MILLILITRES = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*ML", re.IGNORECASE | re.ASCII)


class UnknownProductError(KeyError):
    """The product is not in the published model's catalogue."""


@dataclass(frozen=True)
class Price:
    amount: Decimal
    currency: str
    per_millilitre: bool  # the amount is a price a millilitre (sizes known), else the lowest

    def said(self) -> str:
        return f"{self.currency} {self.amount:.2f}" + (" a ml" if self.per_millilitre else "")


def similar(
    product_code: str,
    customer: CustomerFacts,
    catalog: Catalog,
    situation: Situation,
    limit: int = 10,
) -> Recommendation:
    """Up to `limit` products like `product_code`, best first, screened for `customer` (a
    customer with no id and no consent: the EU annexes and discontinued products only)."""
    vectors, rules = catalog.vectors, catalog.rules
    if vectors is None or product_code not in rules.profiles:
        raise UnknownProductError(product_code)
    if vectors.position(product_code) is None:
        raise UnknownProductError(product_code)
    asked = rules.profiles[product_code]
    name = asked.product.name or product_code
    families = set(asked.families)
    scored: list[tuple[str, float]] = []
    reasons: dict[str, tuple[str, ...]] = {}
    for neighbour in vectors.like(product_code, NEIGHBOURS):
        found = rules.profiles.get(neighbour.product_code)
        if found is None:
            continue
        shared = sorted(families & set(found.families))
        both = families | set(found.families)
        overlap = len(shared) / len(both) if both else 0.0
        same = found.product.category == asked.product.category
        likeness = LIKENESS * max(neighbour.score, 0.0) + FAMILIES * overlap + CATEGORY * same
        scored.append((neighbour.product_code, 4.0 * likeness - 2.0))  # the model's scale
        said = [f"shares {_listed(shared)} with {name}"] if shared else []
        said += [f"also a {found.product.category}"] if same and found.product.category else []
        said += [f"chosen by the same customers as {name}"] if neighbour.score >= CLOSE else []
        cheaper = _cheaper(catalog.prices.get(neighbour.product_code, []), catalog, product_code)
        said += [cheaper] if cheaper else []
        reasons[neighbour.product_code] = tuple(said)
    scored.sort(key=lambda pair: -pair[1])
    candidates = Candidates(ListKind.SIMILAR, f"similar to {name}", scored, reasons=reasons)
    return screen(rules, customer, candidates, situation, limit)


def _listed(families: list[str]) -> str:
    words = [family.replace("_", " ") for family in families[:3]]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _cheaper(theirs: list[list[str]], catalog: Catalog, product_code: str) -> str | None:
    """ "a cheaper alternative: ..." when it costs less than the asked product, a millilitre
    when both sizes are known, else at their lowest prices; in the same currency only."""
    mine = catalog.prices.get(product_code, [])
    for per_millilitre in (True, False):
        ours, other = _lowest(mine, per_millilitre), _lowest(theirs, per_millilitre)
        if ours is None or other is None:
            continue
        if ours.currency != other.currency:
            return None
        if other.amount < ours.amount:
            name = catalog.rules.products[product_code].name or product_code
            return f"a cheaper alternative: {other.said()} against {ours.said()} for {name}"
        return None
    return None


def _lowest(prices: list[list[str]], per_millilitre: bool) -> Price | None:
    found: list[Price] = []
    for price, currency, size in prices:
        try:
            amount = Decimal(price)
        except InvalidOperation:
            continue
        if per_millilitre:
            volume = MILLILITRES.fullmatch(size.strip())
            if volume is None or Decimal(volume.group(1)) == 0:
                return None  # one size unknown: compare the lowest prices instead
            amount = amount / Decimal(volume.group(1))
        found.append(Price(amount, currency, per_millilitre))
    if not found or len({p.currency for p in found}) > 1:
        return None
    return min(found, key=lambda p: p.amount)
