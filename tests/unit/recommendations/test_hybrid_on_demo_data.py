"""The hybrid model on the synthetic business: it beats popular-for-skin-type on a time-based
hold-out, and a customer with only a skin profile gets suggestions for their skin type."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from demo.business import Business, generate
from recommender.baselines import popularity
from recommender.evaluation import LogEvaluation, evaluate_log
from recommender.hybrid import HybridModel, fit
from recommender.recommending import PERSONAL, Recommender
from recommender.rules import RuleBook, Situation
from recommender.signals import RETURN, CustomerFacts
from recommender.uptake import uptake

CUTOFF = datetime(2026, 8, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def business() -> Business:
    return generate(products=300, customers=2000, seed=7)


@pytest.fixture(scope="module")
def full_model(business: Business) -> HybridModel:
    return fit(business.signals(), business.end)


@pytest.fixture(scope="module")
def evaluated(business: Business) -> tuple[LogEvaluation, HybridModel]:
    return evaluate_log(business.signals(), CUTOFF)


def test_the_hybrid_model_beats_popular_for_skin_type_on_precision_at_10(
    evaluated: tuple[LogEvaluation, HybridModel],
) -> None:
    report, _ = evaluated
    assert report.model.users > 500
    assert report.model.precision_at_k > report.popular_for_skin_type.precision_at_k
    assert report.model.precision_at_k > 1.5 * report.popular.precision_at_k
    assert report.model.auc > report.popular.auc


def test_cold_start_customers_get_suggestions_that_suit_their_skin_type(
    business: Business, full_model: HybridModel
) -> None:
    signals = business.signals()
    model = full_model
    recommender = Recommender(RuleBook(signals.products), popularity(signals), model)
    matched = total = 0
    for skin in ("dry", "oily", "combination", "normal", "sensitive"):
        newcomer = CustomerFacts(f"new-{skin}", skin, ("dehydration",), personalisation=True)
        assert not model.knows(newcomer.customer_id)
        result = recommender.recommend(newcomer, Situation())
        assert result.kind == PERSONAL and len(result.suggestions) == 10
        for suggestion in result.suggestions:
            total += 1
            matched += skin in signals.products[suggestion.product_code].skin_types
            assert f"suits {skin} skin" in suggestion.reasons or skin not in (
                signals.products[suggestion.product_code].skin_types
            )
    assert matched / total >= 0.9


def test_returned_products_are_negative_signal_and_never_come_back(
    business: Business, full_model: HybridModel
) -> None:
    signals = business.signals()
    model = full_model
    returned = {(i.customer_id, i.product_code) for i in signals.interactions if i.kind == RETURN}
    assert returned and returned & model.negative
    recommender = Recommender(RuleBook(signals.products), popularity(signals), model)
    customer_id, code = sorted(returned & model.negative)[0]
    facts = signals.customers[customer_id]
    situation = Situation(returned=frozenset(c for u, c in model.negative if u == customer_id))
    shown = recommender.recommend(facts, situation, limit=50).suggestions
    assert code not in {s.product_code for s in shown}


def test_merchandisers_see_how_many_later_purchases_were_recommended(
    business: Business, evaluated: tuple[LogEvaluation, HybridModel]
) -> None:
    _, model = evaluated  # trained on the log before CUTOFF
    report = uptake(model, "v-test", business.signals())
    assert report.purchases > 500 and report.customers_buying > 300
    assert 0 < report.recommended_purchases < report.purchases
    assert report.as_dict()["share"] == round(report.recommended_purchases / report.purchases, 4)
