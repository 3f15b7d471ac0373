"""The hybrid model on the synthetic business: it beats popular-for-skin-type on a time-based
hold-out, and a customer with only a skin profile gets suggestions for their skin type."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from demo.business import Business, generate
from recommender import artefacts
from recommender.baselines import popularity
from recommender.evaluation import LogEvaluation, evaluate_log
from recommender.hybrid import HybridModel, Trend, fit
from recommender.inventory_signals import InventoryFold
from recommender.recommending import PERSONAL, Recommender
from recommender.rules import RuleBook, Situation
from recommender.signals import PURCHASE, RETURN, CustomerFacts, Interaction
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


def test_the_evaluation_reports_warm_and_cold_customers_apart_and_recent_popularity(
    evaluated: tuple[LogEvaluation, HybridModel],
) -> None:
    report, _ = evaluated
    figures = report.as_dict()
    assert report.warm_model.users + report.cold_model.users == report.model.users
    assert report.warm_model.users > 500 and report.cold_model.users > 0
    assert report.recent_days in (7.0, 14.0, 30.0, 60.0, 90.0)
    assert report.model.precision_at_k > report.recent_popular.precision_at_k
    assert {"warm_model_p_at_10", "cold_model_p_at_10", "recent_popular_p_at_10"} <= set(figures)
    # Overall precision is the users-weighted mean of the warm and the cold figures.
    weighted = (
        report.warm_model.precision_at_k * report.warm_model.users
        + report.cold_model.precision_at_k * report.cold_model.users
    ) / report.model.users
    assert report.model.precision_at_k == pytest.approx(weighted)


def test_the_trend_is_saved_with_the_model_and_scores_the_same_after_loading(
    business: Business, full_model: HybridModel, tmp_path: Path
) -> None:
    assert len(full_model.trend) == len(full_model.product_codes)
    directory = artefacts.save(tmp_path / "v0001", full_model, InventoryFold(), {})
    loaded, _ = artefacts.load(directory)
    assert np.array_equal(loaded.trend, full_model.trend)
    customer = next(iter(business.signals().customers.values()))
    assert np.allclose(loaded.scores(customer), full_model.scores(customer), atol=1e-5)


def test_what_sells_now_moves_up_a_newcomer_s_list(business: Business) -> None:
    """The same log, one product bought by many in the last week: with the trend it climbs."""
    signals = business.signals()
    quiet = min(
        signals.products, key=lambda c: sum(i.product_code == c for i in signals.interactions)
    )
    buyers = sorted(signals.customers)[:40]
    burst = [
        Interaction(c, quiet, PURCHASE, business.end - timedelta(days=n % 5), 1.0, None)
        for n, c in enumerate(buyers)
    ]
    trending = replace(signals, interactions=[*signals.interactions, *burst])
    newcomer = CustomerFacts("new-dry", "dry", (), personalisation=True)
    without = fit(trending, business.end, trend=Trend(weight=0.0))
    blended = fit(trending, business.end)
    at = blended.product_codes.index(quiet)

    def rank(model: HybridModel) -> int:
        return int((model.scores(newcomer) > model.scores(newcomer)[at]).sum())

    assert len(without.trend) == 0
    assert rank(blended) < rank(without)
