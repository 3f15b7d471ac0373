"""Rules after scoring: allergens under any name, EU restrictions, stock, history, consent."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recommender.baselines import Popularity
from recommender.recommending import PERSONAL, POPULAR, Recommender
from recommender.rules import RuleBook, Situation
from recommender.signals import CustomerFacts, ProductFacts

# Names for one substance as the EU lists give them, written here by hand to check against.
SAME_SUBSTANCE = {
    "LIMONENE": {"limonene", "dipentene", "dl-limonene"},
    "CITRAL": {"citral"},
    "LINALOOL": {"linalool"},
    "SALICYLIC ACID": {"salicylic acid"},
    "RETINOL": {"retinol"},
}
SPELLINGS = [
    "Limonene",
    "DIPENTENE",
    "dl-Limonene",
    "citral",
    "Linalool",
    "Salicylic Acid",
    "RETINOL",
    "retinol",
]
HARMLESS = ["AQUA", "GLYCERIN", "NIACINAMIDE", "SQUALANE", "PANTHENOL", "SODIUM HYALURONATE"]


def product(
    code: str, inci: list[str], category: str = "serum", skin: tuple[str, ...] = ()
) -> ProductFacts:
    return ProductFacts(code, category, tuple(inci), skin, (f"{code}-30ML",))


def recommender_for(products: list[ProductFacts]) -> Recommender:
    catalog = {p.product_code: p for p in products}
    counts = Counter({code: len(catalog) - n for n, code in enumerate(catalog)})
    return Recommender(RuleBook(catalog), Popularity(counts, {}))


catalogs = st.lists(
    st.lists(st.sampled_from(SPELLINGS + HARMLESS), min_size=1, max_size=6),
    min_size=1,
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(
    catalogs,
    st.lists(st.sampled_from(sorted(SAME_SUBSTANCE)), min_size=1, max_size=2),
    st.sampled_from(["dry", "oily", None]),
)
def test_an_allergic_customer_never_receives_a_product_containing_the_allergen(
    inci_lists: list[list[str]], allergies: list[str], skin: str | None
) -> None:
    products = [product(f"P{n}", inci) for n, inci in enumerate(inci_lists)]
    customer = CustomerFacts(
        "c1", skin, (), tuple(a.lower() for a in allergies), personalisation=True
    )
    result = recommender_for(products).recommend(customer, Situation(), limit=50)
    forbidden = set().union(*(SAME_SUBSTANCE[a] for a in allergies))
    catalog = {p.product_code: p for p in products}
    for suggestion in result.suggestions:
        names = {name.lower() for name in catalog[suggestion.product_code].inci}
        assert not names & forbidden, (suggestion, allergies)
    shown = {s.product_code for s in result.suggestions}
    safe = {p.product_code for p in products if not {i.lower() for i in p.inci} & forbidden}
    assert shown == safe  # nothing else is held back


def test_a_synonym_on_the_label_is_caught_case_insensitively() -> None:
    rules = RuleBook({"P1": product("P1", ["AQUA", "Dipentene"])})
    customer = CustomerFacts("c1", allergies=("limonene",), personalisation=True)
    barred = rules.exclusion(customer, "P1", Situation())
    assert barred is not None and barred.rule == "allergen"
    assert "limonene" in barred.reason


def test_a_product_with_a_banned_ingredient_is_excluded_citing_annex_ii() -> None:
    rules = RuleBook({"P1": product("P1", ["AQUA", "HYDROQUINONE"])})
    barred = rules.exclusion(CustomerFacts("c1"), "P1", Situation())
    assert barred is not None and barred.rule == "eu_restriction"
    assert "Annex II, entry 1339" in barred.reason


def test_an_ingredient_allowed_only_in_hair_products_bars_a_face_serum() -> None:
    rules = RuleBook({"P1": product("P1", ["AQUA", "THIOGLYCOLIC ACID"])})
    barred = rules.exclusion(CustomerFacts("c1"), "P1", Situation())
    assert barred is not None and "Annex III" in barred.reason and "Hair products" in barred.reason


def test_restricted_but_permitted_ingredients_do_not_bar_a_face_product() -> None:
    rules = RuleBook({"P1": product("P1", ["AQUA", "SALICYLIC ACID", "PHENOXYETHANOL"])})
    assert rules.exclusion(CustomerFacts("c1"), "P1", Situation()) is None


def test_an_allowed_preservative_is_not_barred_by_its_annex_iii_row_on_other_uses() -> None:
    rules = RuleBook({"P1": product("P1", ["AQUA", "BENZYL ALCOHOL", "DEHYDROACETIC ACID"])})
    assert rules.exclusion(CustomerFacts("c1"), "P1", Situation()) is None


def test_out_of_stock_at_the_customers_locations_is_excluded() -> None:
    rules = RuleBook({"P1": product("P1", ["AQUA"])})
    situation = Situation(in_stock=lambda p, where: "STORE-B" in where, locations=("STORE-A",))
    barred = rules.exclusion(CustomerFacts("c1"), "P1", situation)
    assert barred is not None and barred.reason == "out of stock at STORE-A"


def test_a_single_purchase_item_already_bought_and_a_returned_product_are_excluded() -> None:
    rules = RuleBook({"T1": product("T1", [], "tools"), "P1": product("P1", ["AQUA"])})
    situation = Situation(bought=frozenset({"T1", "P1"}), returned=frozenset({"P1"}))
    assert rules.exclusion(CustomerFacts("c1"), "T1", situation).rule == "single_purchase"  # type: ignore[union-attr]
    assert rules.exclusion(CustomerFacts("c1"), "P1", situation).rule == "returned"  # type: ignore[union-attr]


def test_every_suggestion_carries_its_reasons_and_concerns_are_boosted() -> None:
    products = [
        product("P1", ["AQUA", "GLYCERIN"], skin=("oily",)),
        product("P2", ["AQUA", "NIACINAMIDE"], skin=("oily",)),
        *(product(f"Q{n}", ["AQUA"], skin=("dry",)) for n in range(18)),
    ]
    customer = CustomerFacts("c1", "oily", ("pores",), personalisation=True)
    result = recommender_for(products).recommend(customer, Situation())
    assert [s.product_code for s in result.suggestions][:2] == ["P2", "P1"]
    assert result.suggestions[0].reasons == (
        "suits oily skin",
        "niacinamide for pores",
        "popular with oily skin",
    )
    assert all(s.reasons for s in result.suggestions)


def test_without_personalisation_consent_the_profile_is_not_used() -> None:
    products = [product("P1", ["AQUA", "NIACINAMIDE"], skin=("oily",))]
    consenting = CustomerFacts("c1", "oily", ("pores",), personalisation=True)
    withdrawn = CustomerFacts("c1", "oily", ("pores",), personalisation=False)
    recommender = recommender_for(products)
    assert recommender.recommend(consenting, Situation()).suggestions[0].reasons != (
        "popular with our customers",
    )
    result = recommender.recommend(withdrawn, Situation())
    assert result.kind == POPULAR
    assert result.suggestions[0].reasons == ("popular with our customers",)
    assert result.kind != PERSONAL


@pytest.mark.parametrize(
    "label",
    ["AMYL CINNAMAL", "2-BENZYLIDENEOCTANAL", "Farnesol", "EVERNIA PRUNASTRI EXTRACT", "NERAL"],
)
def test_every_eu_labelled_fragrance_allergen_under_any_name_bars_a_fragrance_free_customer(
    label: str,
) -> None:
    rules = RuleBook({"P1": product("P1", ["AQUA", label])})
    customer = CustomerFacts("c1", preferences=("fragrance_free",), personalisation=True)
    barred = rules.exclusion(customer, "P1", Situation())
    assert barred is not None and barred.rule == "preference" and label in barred.reason


@pytest.mark.parametrize(
    ("allergy", "label"),
    [
        ("LIMONENE", "1-METHYL-4-METHYLVINYL-CYCLOHEXENE"),
        ("CITRAL", "GERANIAL"),
        ("SALICYLIC ACID", "SODIUM SALICYLATE"),
        ("Retinol", "RETINYL PALMITATE"),
    ],
)
def test_an_allergy_is_caught_under_every_name_of_its_eu_entry(allergy: str, label: str) -> None:
    rules = RuleBook({"P1": product("P1", ["AQUA", label])})
    barred = rules.exclusion(CustomerFacts("c1", allergies=(allergy,)), "P1", Situation())
    assert barred is not None and barred.rule == "allergen"


def test_an_allergy_to_a_salt_does_not_bar_the_whole_family() -> None:
    rules = RuleBook({"P1": product("P1", ["AQUA", "SALICYLIC ACID"])})
    customer = CustomerFacts("c1", allergies=("SODIUM SALICYLATE",))
    assert rules.exclusion(customer, "P1", Situation()) is None


def test_an_unnamed_fragrance_may_hold_a_fragrance_allergen_below_the_labelling_threshold() -> None:
    rules = RuleBook({"P1": product("P1", ["AQUA", "PARFUM"])})
    linalool = CustomerFacts("c1", allergies=("LINALOOL",))
    barred = rules.exclusion(linalool, "P1", Situation())
    assert barred is not None and barred.rule == "allergen"
    assert barred.reason == "its PARFUM may hold LINALOOL, which you are sensitive to"
    assert rules.exclusion(CustomerFacts("c1", allergies=("RETINOL",)), "P1", Situation()) is None
