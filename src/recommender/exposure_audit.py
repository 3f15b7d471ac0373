"""How many suggestions of a list served in an experiment break a rule, counted again by the
rule audit's own check (`rule_audit.breaks_a_rule`, apart from the ranker's rules) against the
history the list was screened with. An experiment's guardrail wants zero per variant."""

from __future__ import annotations

from recommender.rule_audit import breaks_a_rule
from recommender.rule_stage import ListKind, Recommendation
from recommender.rules import Situation
from recommender.serving import CandidateSource, Catalog
from recommender.signals import CustomerFacts


def rule_violations(
    result: Recommendation, catalog: Catalog, facts: CustomerFacts, source: CandidateSource
) -> int:
    situation = Situation()
    if result.kind is ListKind.PERSONAL and facts.may_personalise:
        entry = source.customer(facts.customer_id) or {}
        situation = Situation(
            bought=frozenset(entry.get("bought", ())),
            returned=frozenset(entry.get("returned", ())),
        )
    products = catalog.rules.products
    return sum(
        breaks_a_rule(s, products[s.product_code], facts, situation)
        if s.product_code in products
        else 1  # a product the catalog does not know cannot have been screened
        for s in result.suggestions
    )
