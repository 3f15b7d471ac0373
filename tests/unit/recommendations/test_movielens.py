"""The model code on real public data: MovieLens 100k, random 80/20 split, WARP, 30 epochs,
training items excluded from each user's ranking."""

from __future__ import annotations

import pytest

from recommender import movielens


@pytest.fixture(scope="module")
def result() -> movielens.MovieLensResult:
    return movielens.run()


def test_the_data_is_read_from_the_wheel_without_running_recbole() -> None:
    import sys

    text = movielens.interactions_text()
    assert text.startswith("user_id:token\titem_id:token")
    assert len(text.splitlines()) == 100_001
    assert "recbole" not in sys.modules


def test_precision_at_10_is_at_least_0_28(result: movielens.MovieLensResult) -> None:
    assert result.model.precision_at_k >= 0.28


def test_precision_at_10_is_at_least_1_4_times_the_most_popular_baseline(
    result: movielens.MovieLensResult,
) -> None:
    assert result.model.precision_at_k >= 1.4 * result.popular.precision_at_k


def test_auc_is_far_above_chance(result: movielens.MovieLensResult) -> None:
    assert result.model.auc > 0.85
