"""What the recommender reads from customer events: profile and consent, forgetting, merges."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from domain.customer import Customer
from domain.trace import Trace
from recommender.customer_signals import CustomerFold, attributed
from recommender.signals import PURCHASE, RATING, Interaction, LogSignals

TRACE = Trace("web", "tester", datetime(2026, 5, 1, tzinfo=UTC))
SKUS = {"S1-30ML": "S1", "S2-30ML": "S2"}


def profiled_customer() -> Customer:
    customer = Customer.register(uuid4(), {"name": "Ada"}, TRACE)
    customer.change_skin_profile(
        {"skin_type": "dry", "concerns": ["dehydration"], "allergies": ["limonene"]}, TRACE
    )
    customer.change_preferences({"fragrance_free": True, "vegan": False}, TRACE)
    customer.grant_consent("personalisation", "v1", TRACE)
    customer.give_feedback("S1-30ML", 5, "lovely", TRACE)
    customer.add_to_wishlist("S2-30ML", TRACE)
    return customer


def folded(*customers: Customer) -> CustomerFold:
    fold = CustomerFold()
    for customer in customers:
        events: list[Any] = customer.collect_events()
        for event in events:
            fold.take(event, SKUS)
    return fold


def test_a_consenting_customer_brings_profile_ratings_and_wishlist() -> None:
    customer = profiled_customer()
    fold = folded(customer)
    facts = fold.customers[str(customer.id)]
    assert facts.may_personalise
    assert (facts.skin_type, facts.concerns, facts.allergies) == (
        "dry",
        ("dehydration",),
        ("LIMONENE",),
    )
    assert facts.preferences == ("fragrance_free",)
    assert [(i.product_code, i.kind, i.value) for i in fold.interactions] == [
        ("S1", RATING, 5.0),
        ("S2", "wishlist", 1.0),
    ]


def test_withdrawn_consent_removes_the_customer_from_personal_training() -> None:
    customer = profiled_customer()
    customer.withdraw_consent("personalisation", TRACE)
    fold = folded(customer)
    cid = str(customer.id)
    assert not fold.customers[cid].may_personalise
    signals = LogSignals(customers=fold.customers, interactions=fold.interactions)
    assert signals.consented().interactions == []


def test_a_forgotten_customer_has_no_profile_and_no_personal_use() -> None:
    customer = profiled_customer()
    customer.forget(TRACE)
    facts = folded(customer).customers[str(customer.id)]
    assert facts.forgotten and not facts.may_personalise
    assert (facts.skin_type, facts.allergies, facts.concerns) == (None, (), ())


def test_a_merged_customers_purchases_count_for_the_survivor() -> None:
    survivor, source = profiled_customer(), profiled_customer()
    survivor.absorb(source, TRACE)
    fold = folded(survivor, source)
    bought = Interaction(str(source.id), "S1", PURCHASE, TRACE.occurred_at)
    assert attributed([bought], fold)[0].customer_id == str(survivor.id)
    assert not fold.customers[str(source.id)].may_personalise
