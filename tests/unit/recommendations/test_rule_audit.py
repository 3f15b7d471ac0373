"""The rule audit serves every kind of list as the API does and counts breaches per kind; the
exclusions made for customers without consent leave no trace in the shared uptake figure."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from demo.business import Business, generate
from recommender.hybrid import HybridModel, fit
from recommender.rule_audit import audit_suggestions, breaks_a_rule
from recommender.rule_stage import ListKind
from recommender.rules import Situation, Suggestion
from recommender.signals import CustomerFacts, LogSignals, ProductFacts
from recommender.uptake import uptake


@pytest.fixture(scope="module")
def business() -> Business:
    return generate(products=60, customers=200, seed=5)


@pytest.fixture(scope="module")
def model(business: Business) -> HybridModel:
    return fit(business.signals(), business.end)


def test_the_audit_serves_and_reports_every_kind_of_list_without_a_breach(
    business: Business, model: HybridModel
) -> None:
    report = audit_suggestions(model, business.signals(), sample=200).as_dict()
    assert set(report["rule_violations_by_kind"]) == {kind.value for kind in ListKind}
    assert all(report["suggestions_audited_by_kind"][kind.value] > 0 for kind in ListKind)
    assert report["rule_violations"] == 0.0
    assert set(report["rule_violations_by_kind"].values()) == {0.0}


@pytest.mark.parametrize("label", ["PARFUM", "AMYL CINNAMAL", "Linalool", "dl-Limonene"])
def test_the_audit_counts_fragrance_shown_to_a_fragrance_free_customer(label: str) -> None:
    product = ProductFacts("P1", "serum", ("AQUA", label), ())
    customer = CustomerFacts("c1", preferences=("fragrance_free",))
    suggestion = Suggestion("P1", 1.0, ("popular with our customers",))
    assert breaks_a_rule(suggestion, product, customer, Situation())
    assert not breaks_a_rule(suggestion, product, CustomerFacts("c1"), Situation())


def test_safety_facts_of_customers_without_consent_leave_no_trace_in_uptake(
    business: Business,
) -> None:
    signals = business.signals()
    cutoff = business.end - timedelta(days=90)
    earlier = [i for i in signals.interactions if i.at < cutoff]
    model = fit(replace(signals, interactions=earlier), cutoff)
    without = {c for c, f in signals.customers.items() if not f.may_personalise}
    assert without
    everything_barred = tuple(sorted({name for p in signals.products.values() for name in p.inci}))
    protected = {
        c: replace(f, allergies=everything_barred, preferences=("fragrance_free",))
        if c in without
        else f
        for c, f in signals.customers.items()
    }
    shielded = LogSignals(
        signals.products, protected, signals.interactions, signals.sku_products, signals.position
    )
    figures = uptake(model, "v", signals)
    assert figures.recommended_purchases > 0
    assert uptake(model, "v", shielded) == figures
