"""Leave-future-out evaluation on plain arrays of interactions (user, item, time): one global
time cut, test users told apart by whether they had anything before it (warm) or not (cold),
the popularity baselines as they were knowable at the cut, and the trend a model is blended
with. Production only ever predicts the future, so this is the split its figures come from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp  # type: ignore[import-untyped]
from numpy.typing import NDArray

from recommender.lightfm_core import Floats, Matrix
from recommender.metrics import Quality, evaluate

Indices = NDArray[np.int64]
Times = NDArray[np.float64]  # seconds since the epoch
Mask = NDArray[np.bool_]
DAY = 86_400.0


@dataclass(frozen=True)
class Interactions:
    """One row per interaction: dense user and item indices and when it happened."""

    users: Indices
    items: Indices
    times: Times
    shape: tuple[int, int]  # users x items

    def matrix(self, mask: Mask, weights: Floats | None = None) -> Matrix:
        """users x items, one per interaction in `mask` (or its weight), duplicates summed."""
        data = np.ones(int(mask.sum()), np.float32) if weights is None else weights[mask]
        return sp.csr_matrix((data, (self.users[mask], self.items[mask])), shape=self.shape)


@dataclass(frozen=True)
class TemporalSplit:
    cutoff: float  # train: time < cutoff; test: time >= cutoff
    train: Mask  # over the interactions
    test: Mask
    test_users: Indices  # sorted: the users with an interaction at or after the cut
    warm: Mask  # per test user: they had an interaction before the cut

    @property
    def cold(self) -> Mask:
        return ~self.warm


def temporal_split(
    interactions: Interactions, held_out_share: float = 0.2, within: Mask | None = None
) -> TemporalSplit:
    """The latest `held_out_share` of the interactions (of those in `within`, all by default)
    held out by one global time cut; interactions outside `within` belong to neither side."""
    if not 0.0 < held_out_share < 1.0:
        raise ValueError(f"held_out_share must be between 0 and 1 exclusive, not {held_out_share}")
    scope = np.ones(len(interactions.times), bool) if within is None else within
    if not scope.any():
        raise ValueError("a temporal split needs at least one interaction")
    times = interactions.times
    cutoff = float(np.quantile(times[scope], 1.0 - held_out_share))
    train = scope & (times < cutoff)
    test = scope & (times >= cutoff)
    test_users = np.unique(interactions.users[test])
    warm = np.isin(test_users, interactions.users[train])
    return TemporalSplit(cutoff, train, test, test_users, warm)


def decayed_popularity(
    interactions: Interactions, before: Mask, cutoff: float, half_life_days: float
) -> Floats:
    """Per item: its interactions in `before`, each halved every `half_life_days` before the cut."""
    age_days = np.maximum(cutoff - interactions.times, 0.0) / DAY
    weights = np.where(before, 0.5 ** (age_days / half_life_days), 0.0)
    counts = np.bincount(interactions.items, weights=weights, minlength=interactions.shape[1])
    return np.asarray(counts, dtype=np.float32)


def recent_popularity(
    interactions: Interactions, before: Mask, cutoff: float, days: float | None
) -> Floats:
    """Per item: how many interactions in `before` fell in the `days` before the cut (all of
    them when `days` is None: the all-time most-popular baseline)."""
    times = interactions.times
    window = before & (times < cutoff)
    if days is not None:
        window &= times >= cutoff - days * DAY
    return popularity_in(interactions, window)


def popularity_in(interactions: Interactions, mask: Mask) -> Floats:
    """Per item: how many of the interactions in `mask` it had."""
    counts = np.bincount(interactions.items[mask], minlength=interactions.shape[1])
    return np.asarray(counts, dtype=np.float32)


def standardised(scores: Floats) -> Floats:
    """Each row on its own scale: mean 0, standard deviation 1 (a flat row stays 0)."""
    rows = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    spread = rows.std(axis=1, keepdims=True)
    spread[spread == 0] = 1.0
    out = (rows - rows.mean(axis=1, keepdims=True)) / spread
    return np.asarray(out.reshape(np.shape(scores)), dtype=np.float32)


def trend_scores(popularity: Floats) -> Floats:
    """Recent popularity as a score: log-damped (a blockbuster is not 100 times as likely as
    a title a hundredth as popular), standardised so it blends with any model's scale."""
    return standardised(np.log1p(np.maximum(popularity, 0.0)))


def blend(model: Floats, trend: Floats, weight: float) -> Floats:
    """Each user's model scores, standardised, plus `weight` standard deviations of trend."""
    return np.asarray(standardised(model) + weight * trend[np.newaxis, :], dtype=np.float32)


@dataclass(frozen=True)
class SplitQuality:
    """One ranking's quality over all test users, warm ones and cold ones."""

    overall: Quality
    warm: Quality
    cold: Quality

    def as_dict(self, prefix: str) -> dict[str, float]:
        return {
            f"{prefix}p_at_10": round(self.overall.precision_at_k, 4),
            f"{prefix}warm_p_at_10": round(self.warm.precision_at_k, 4),
            f"{prefix}cold_p_at_10": round(self.cold.precision_at_k, 4),
        }


def judge(
    scores: Floats, interactions: Interactions, split: TemporalSplit, k: int = 10
) -> SplitQuality:
    """`scores`: test users x items. Items a warm user had before the cut are left out of
    their ranking; what counts is what they interacted with at or after it."""
    users = split.test_users
    test = interactions.matrix(split.test)[users]
    known = interactions.matrix(split.train)[users]
    warm, cold = split.warm, split.cold
    return SplitQuality(
        evaluate(scores, test, known, k),
        evaluate(scores[warm], test[warm], known[warm], k),
        evaluate(scores[cold], test[cold], known[cold], k),
    )


def rows_of(vector: Floats, users: int) -> Floats:
    """The same non-personal list for every test user."""
    return np.asarray(np.tile(vector, (users, 1)), dtype=np.float32)


def best_window(
    interactions: Interactions, validation: TemporalSplit, candidates: Sequence[float]
) -> float:
    """The recent-popular window (days) that ranked a validation cut best: chosen inside the
    training period, never on the test."""
    users = len(validation.test_users)
    quality = {
        days: judge(
            rows_of(
                recent_popularity(interactions, validation.train, validation.cutoff, days), users
            ),
            interactions,
            validation,
        ).overall.precision_at_k
        for days in candidates
    }
    return max(candidates, key=lambda days: (quality[days], -days))
