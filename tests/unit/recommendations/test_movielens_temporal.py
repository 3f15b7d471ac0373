"""MovieLens 100k held out forward in time (the latest 20% by timestamp): the split as the lead
measured it, the model against both popularity baselines, choices made without the test, and
the warm update that keeps LightFM's state."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.movielens import read_interactions
from recommender.movielens_temporal import (
    TemporalResult,
    WarmUpdateResult,
    run_temporal,
    run_warm_update,
)
from recommender.temporal import Interactions, temporal_split


@pytest.fixture(scope="module")
def ratings() -> Interactions:
    return read_interactions()


@pytest.fixture(scope="module")
def result(ratings: Interactions) -> TemporalResult:
    return run_temporal(interactions=ratings)


@pytest.fixture(scope="module")
def warm_update(ratings: Interactions) -> WarmUpdateResult:
    return run_warm_update(interactions=ratings)


def test_the_latest_fifth_is_held_out_with_warm_and_cold_users_apart(
    ratings: Interactions,
) -> None:
    split = temporal_split(ratings, 0.2)
    assert split.test.sum() == pytest.approx(20_000, abs=50)
    assert (ratings.times[split.test].min()) >= ratings.times[split.train].max()
    assert (len(split.test_users), int(split.warm.sum()), int(split.cold.sum())) == (301, 109, 192)


def test_the_model_beats_both_popularity_baselines_forward_in_time(
    result: TemporalResult,
) -> None:
    model = result.model.overall.precision_at_k
    assert model > result.popular.overall.precision_at_k
    assert model > result.recent_popular.overall.precision_at_k
    # Warm users are where a personal model can act: there it beats recent popularity clearly.
    assert result.model.warm.precision_at_k > 1.1 * result.recent_popular.warm.precision_at_k
    # And the trend blend is what lifts LightFM above recent popularity.
    assert model > result.lightfm.overall.precision_at_k


def test_the_ceiling_is_what_cold_users_could_get_at_best_with_the_model_for_warm_ones(
    result: TemporalResult,
) -> None:
    assert result.ceiling.warm == result.model.warm
    assert result.ceiling.cold.precision_at_k >= result.recent_popular.cold.precision_at_k
    assert result.ceiling.cold.precision_at_k >= result.model.cold.precision_at_k
    figures = result.as_dict()
    assert figures["ml100k_temporal_users"] == 301
    assert figures["ml100k_temporal_warm_users"] + figures["ml100k_temporal_cold_users"] == 301


def test_the_choices_are_made_on_validation_whatever_the_test_period_holds(
    ratings: Interactions, result: TemporalResult
) -> None:
    """Scrambling which items were rated after the cut changes the figures, never the choices."""
    split = temporal_split(ratings, 0.2)
    items = ratings.items.copy()
    items[split.test] = np.random.default_rng(3).permutation(items[split.test])
    scrambled = run_temporal(
        interactions=Interactions(ratings.users, items, ratings.times, ratings.shape)
    )
    assert (scrambled.recent_days, scrambled.trend) == (result.recent_days, result.trend)
    assert scrambled.cutoff == result.cutoff


def test_the_warm_update_keeps_the_learner_s_state(warm_update: WarmUpdateResult) -> None:
    updated = warm_update.updated.overall.precision_at_k
    assert updated >= warm_update.stale.overall.precision_at_k
    assert updated >= 0.95 * warm_update.retrained.overall.precision_at_k
