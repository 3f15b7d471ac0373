"""The one rule stage every served list passes: safety facts exclude on every kind of list,
consented or not; the rest of the profile ranks only with consent; no list skips the stage."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.customer import Customer
from domain.trace import Trace
from recommender.baselines import Popularity
from recommender.customer_signals import facts_of
from recommender.recommending import Recommender
from recommender.rule_stage import (
    Candidates,
    ListKind,
    Recommendation,
    UnscreenedListError,
    screen,
)
from recommender.rules import RuleBook, Situation
from recommender.serving import Catalog, recommend
from recommender.signals import CustomerFacts, ProductFacts

TRACE = Trace("web", "tester", datetime(2026, 5, 1, tzinfo=UTC))
HARMLESS = ["AQUA", "GLYCERIN", "NIACINAMIDE", "SQUALANE", "PANTHENOL"]
# An allergen as declared, and names the EU lists give the same substance on a label.
ALLERGEN_LABELS = {
    "LIMONENE": ["Limonene", "DIPENTENE", "dl-Limonene", "1-METHYL-4-METHYLVINYL-CYCLOHEXENE"],
    "SALICYLIC ACID": ["SALICYLIC ACID", "Salicylic Acid"],
    "CITRAL": ["CITRAL", "GERANIAL", "NERAL"],
    "HEXYL CINNAMAL": ["HEXYL CINNAMAL", "2-BENZYLIDENEOCTANAL"],
}
# Fragrance on a label: the word, the Annex III 67-92 allergens, those of Regulation 2023/1545.
FRAGRANCE_LABELS = [
    "PARFUM",
    "Fragrance",
    "LINALOOL",
    "HEXYL CINNAMAL",
    "2-BENZYLIDENEOCTANAL",
    "AMYL CINNAMAL",
    "FARNESOL",
    "EVERNIA PRUNASTRI EXTRACT",
    "ALPHA-ISOMETHYL IONONE",
    "VANILLIN",
    "CITRUS LIMON PEEL OIL",
    "DIPENTENE",
]


def product(code: str, inci: list[str], skin: tuple[str, ...] = ()) -> ProductFacts:
    return ProductFacts(code, "serum", tuple(inci), skin, (f"{code}-30ML",))


class PublishedLists:
    """The batch job's output held in memory (the serving path's source, without Redis)."""

    def __init__(self, codes: list[str], entries: dict[str, dict[str, Any]] | None = None):
        self.codes, self.entries = codes, entries or {}

    def customer(self, customer_id: str) -> dict[str, Any] | None:
        return self.entries.get(customer_id)

    def popular(self, skin_type: str | None) -> list[str]:
        return list(self.codes)

    def forget(self, customer_id: str) -> None:
        self.entries.pop(customer_id, None)


def served_lists(products: list[ProductFacts], customer: CustomerFacts) -> list[Recommendation]:
    """The customer's lists from both producers: offline (audit, uptake) and the API's."""
    catalog = {p.product_code: p for p in products}
    codes = list(catalog)
    counts = Counter({code: len(codes) - n for n, code in enumerate(codes)})
    rules = RuleBook(catalog)
    entry = {"origin": "test", "candidates": [[c, 1.0] for c in codes]}
    source = PublishedLists(codes, {customer.customer_id: entry})
    skus = {p.skus[0]: p.product_code for p in products}
    return [
        Recommender(rules, Popularity(counts, {})).recommend(customer, Situation(), limit=50),
        recommend(customer, source, Catalog("v1", rules, skus), limit=50),
        recommend(customer, source, Catalog("v1", rules, skus), list(skus)[:2], limit=50),
    ]


labels = st.lists(
    st.lists(
        st.sampled_from([n for names in ALLERGEN_LABELS.values() for n in names] + HARMLESS),
        min_size=1,
        max_size=5,
    ),
    min_size=1,
    max_size=20,
)


@settings(max_examples=80, deadline=None)
@given(labels, st.sampled_from(sorted(ALLERGEN_LABELS)), st.booleans())
def test_a_declared_allergy_excludes_on_every_list_consented_or_not(
    inci_lists: list[list[str]], allergen: str, consented: bool
) -> None:
    products = [product(f"P{n}", inci) for n, inci in enumerate(inci_lists)]
    customer = CustomerFacts("c1", "oily", allergies=(allergen,), personalisation=consented)
    forbidden = {name.casefold() for name in ALLERGEN_LABELS[allergen]}
    safe = {p.product_code for p in products if not {n.casefold() for n in p.inci} & forbidden}
    for result in served_lists(products, customer):
        assert {s.product_code for s in result.suggestions} == safe, result.kind
        assert all(e.rule == "allergen" and allergen in e.reason for e in result.excluded)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from(FRAGRANCE_LABELS + HARMLESS), min_size=1, max_size=4),
        min_size=1,
        max_size=20,
    ),
    st.booleans(),
)
def test_a_fragrance_free_customer_never_sees_a_fragranced_product_on_any_list(
    inci_lists: list[list[str]], consented: bool
) -> None:
    products = [product(f"P{n}", inci) for n, inci in enumerate(inci_lists)]
    customer = CustomerFacts("c1", preferences=("fragrance_free",), personalisation=consented)
    safe = {p.product_code for p in products if set(p.inci) <= set(HARMLESS)}
    for result in served_lists(products, customer):
        assert {s.product_code for s in result.suggestions} == safe, result.kind
        barred = {p.product_code for p in products} - safe
        assert {e.product_code for e in result.excluded} == barred
        assert {e.rule for e in result.excluded} <= {"preference", "eu_restriction"}


@pytest.mark.parametrize("kind", list(ListKind))
def test_every_kind_of_list_passes_the_rule_stage(kind: ListKind) -> None:
    rules = RuleBook(
        {
            "P1": product("P1", ["AQUA", "SALICYLIC ACID"]),
            "P2": product("P2", ["AQUA", "PARFUM"]),
            "P3": product("P3", ["AQUA", "HYDROQUINONE"]),
            "P4": product("P4", ["AQUA", "GLYCERIN"]),
        }
    )
    customer = CustomerFacts(
        "c1", allergies=("SALICYLIC ACID",), preferences=("fragrance_free",), personalisation=True
    )
    candidates = Candidates(kind, "origin", [("P1", 3.0), ("P2", 2.0), ("P3", 1.0), ("P4", 0.0)])
    result = screen(rules, customer, candidates, Situation())
    assert result.kind is kind
    assert [s.product_code for s in result.suggestions] == ["P4"]
    assert [(e.product_code, e.rule) for e in result.excluded] == [
        ("P1", "allergen"),
        ("P2", "preference"),
        ("P3", "eu_restriction"),
    ]
    assert result.as_dict()["excluded"][0]["reason"].startswith("contains SALICYLIC ACID")


def test_a_list_cannot_be_served_without_passing_the_rule_stage() -> None:
    with pytest.raises(UnscreenedListError):
        Recommendation("c1", ListKind.POPULAR, [])


@pytest.mark.parametrize("kind", [k for k in ListKind if k.ranked_with_profile])
def test_a_list_ranked_with_the_profile_is_refused_without_consent(kind: ListKind) -> None:
    rules = RuleBook({"P1": product("P1", ["AQUA"])})
    candidates = Candidates(kind, "o", [("P1", 1.0)])
    with pytest.raises(UnscreenedListError):
        screen(rules, CustomerFacts("c1", "oily"), candidates, Situation())


def test_without_consent_only_safety_facts_count_not_skin_concerns_or_history() -> None:
    rules = RuleBook(
        {
            "P1": product("P1", ["AQUA", "NIACINAMIDE"], skin=("oily",)),
            "P2": product("P2", ["AQUA", "GLYCERIN"], skin=("dry",)),
            "P3": product("P3", ["AQUA", "LINALOOL"]),
        }
    )
    profile = {"skin_type": "dry", "concerns": ("pores",), "preferences": ("fragrance_free",)}
    consenting = CustomerFacts("c1", **profile, personalisation=True)  # type: ignore[arg-type]
    withdrawn = CustomerFacts("c1", **profile, personalisation=False)  # type: ignore[arg-type]
    history = Situation(returned=frozenset({"P1"}))
    candidates = Candidates(ListKind.POPULAR, "popular", [("P1", 1.0), ("P2", 0.9), ("P3", 0.8)])
    mine = screen(rules, consenting, candidates, history)
    shared = screen(rules, withdrawn, candidates, history)
    assert [s.product_code for s in mine.suggestions] == ["P2"]
    assert [s.product_code for s in shared.suggestions] == ["P1", "P2"]  # ranking changed
    assert all(s.reasons == ("popular",) for s in shared.suggestions)
    assert [(e.product_code, e.rule) for e in shared.excluded] == [("P3", "preference")]


def test_a_customer_read_without_consent_carries_only_safety_facts() -> None:
    customer = Customer.register(uuid4(), {"name": "Ada"}, TRACE)
    customer.change_skin_profile(
        {"skin_type": "dry", "concerns": ["dehydration"], "allergies": ["limonene"]}, TRACE
    )
    customer.change_preferences({"fragrance_free": True, "vegan": True}, TRACE)
    facts = facts_of(customer)
    assert not facts.may_personalise
    assert (facts.skin_type, facts.concerns) == (None, ())
    assert facts.allergies == ("LIMONENE",) and facts.preferences == ("fragrance_free",)
    customer.grant_consent("personalisation", "v1", TRACE)
    assert facts_of(customer).skin_type == "dry"
    assert facts_of(customer).preferences == ("fragrance_free", "vegan")


def test_the_safety_facts_of_customers_merged_into_one_protect_the_survivor() -> None:
    survivor = Customer.register(uuid4(), {"name": "Ada"}, TRACE)
    survivor.change_skin_profile({"skin_type": "dry", "allergies": ["retinol"]}, TRACE)
    source = Customer.register(uuid4(), {"name": "Ada L."}, TRACE)
    source.change_skin_profile({"skin_type": "oily", "allergies": ["salicylic acid"]}, TRACE)
    source.change_preferences({"fragrance_free": True}, TRACE)
    survivor.absorb(source, TRACE)
    facts = facts_of(survivor, [source])
    assert facts.allergies == ("RETINOL", "SALICYLIC ACID") and facts.safety.fragrance_free
    survivor.grant_consent("personalisation", "v1", TRACE)
    consented = facts_of(survivor, [source])
    assert consented.skin_type == "dry" and consented.safety == facts.safety
