"""MovieLens 100k looked at forward in time: the latest 20% of ratings held out by one global
cut (recommender.temporal), the popularity baselines as knowable at the cut, and the model as
the product builds it: LightFM WARP on recency-weighted interactions, blended at scoring time
with the trend (recency-decayed popularity). Every choice (recent-popular window, trend
half-life and weight) is made on a validation cut inside the training period, never on the test.

Also the warm update: LightFM trained on the first 80% by time and updated with `fit_partial`
on the next 10%, against a full retrain on the first 90%, both judged on the last 10%."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from recommender.lightfm_core import (
    Embeddings,
    Floats,
    TrainingConfig,
    embeddings_of,
    keep_learning,
    learner,
    train,
)
from recommender.movielens import read_interactions
from recommender.temporal import (
    DAY,
    Interactions,
    SplitQuality,
    TemporalSplit,
    best_window,
    blend,
    decayed_popularity,
    judge,
    popularity_in,
    recent_popularity,
    rows_of,
    temporal_split,
    trend_scores,
)

HELD_OUT = 0.2
TARGET_LIFT = 1.2  # the target: 1.2 x the better popularity baseline
RECENT_DAYS = (3.0, 7.0, 14.0, 21.0, 30.0, 60.0)  # recent-popular windows tried on validation
TREND_HALF_LIVES = (3.0, 7.0, 14.0, 30.0)  # days
TREND_WEIGHTS = (0.0, 0.5, 1.0, 2.0, 4.0)  # standard deviations of trend added to the model's
RECENCY_HALF_LIFE_DAYS = 30.0  # an interaction's training weight halves every 30 days
# One thread: LightFM's threads race on shared state, so two runs on two threads differ (the
# choice made on validation with them); on one they give the same figures every time.
REPRODUCIBLE = TrainingConfig(threads=1)


@dataclass(frozen=True)
class TrendChoice:
    half_life_days: float
    weight: float


@dataclass(frozen=True)
class TemporalResult:
    model: SplitQuality  # LightFM blended with the trend, as chosen on validation
    lightfm: SplitQuality  # LightFM alone (recency-weighted)
    popular: SplitQuality  # most popular before the cut
    recent_popular: SplitQuality  # most popular in the last `recent_days` before the cut
    ceiling: SplitQuality  # cold users: the test period's own popularity; warm: the model
    recent_days: float
    trend: TrendChoice
    cutoff: float

    def as_dict(self, prefix: str = "ml100k_temporal_") -> dict[str, Any]:
        best = max(self.popular.overall.precision_at_k, self.recent_popular.overall.precision_at_k)
        return {
            **self.model.as_dict(prefix),
            **self.lightfm.as_dict(f"{prefix}lightfm_"),
            **self.popular.as_dict(f"{prefix}popular_"),
            **self.recent_popular.as_dict(f"{prefix}recent_popular_"),
            **self.ceiling.as_dict(f"{prefix}ceiling_"),
            f"{prefix}lift": round(self.model.overall.precision_at_k / best, 4) if best else 0.0,
            f"{prefix}warm_needed_p_at_10": round(self.warm_needed(TARGET_LIFT * best), 4),
            f"{prefix}users": self.model.overall.users,
            f"{prefix}warm_users": self.model.warm.users,
            f"{prefix}cold_users": self.model.cold.users,
            f"{prefix}recent_days": self.recent_days,
            f"{prefix}trend_half_life_days": self.trend.half_life_days,
            f"{prefix}trend_weight": self.trend.weight,
        }

    def warm_needed(self, target: float) -> float:
        """The P@10 warm users would need for the overall figure to reach `target` while cold
        users get the ceiling's oracle list: above what any model reaches, the target is out of
        reach for any model."""
        warm, cold = self.ceiling.warm, self.ceiling.cold
        missing = target * (warm.users + cold.users) - cold.precision_at_k * cold.users
        return missing / warm.users if warm.users else float("inf")


def run_temporal(
    config: TrainingConfig | None = None, interactions: Interactions | None = None
) -> TemporalResult:
    data = interactions or read_interactions()
    config = config or REPRODUCIBLE
    split = temporal_split(data, HELD_OUT)
    validation = temporal_split(data, HELD_OUT, within=split.train)
    days = best_window(data, validation, RECENT_DAYS)
    trend = _best_trend(data, validation, config)
    model = _model_scores(data, split, config)
    blended = blend(model, _trend(data, split, trend.half_life_days), trend.weight)
    users = len(split.test_users)
    oracle = rows_of(popularity_in(data, split.test), users)
    ceiling = np.where(split.warm[:, np.newaxis], blended, oracle)
    return TemporalResult(
        judge(blended, data, split),
        judge(model, data, split),
        judge(
            rows_of(recent_popularity(data, split.train, split.cutoff, None), users), data, split
        ),
        judge(
            rows_of(recent_popularity(data, split.train, split.cutoff, days), users), data, split
        ),
        judge(ceiling, data, split),
        days,
        trend,
        split.cutoff,
    )


def _best_trend(
    data: Interactions, validation: TemporalSplit, config: TrainingConfig
) -> TrendChoice:
    model = _model_scores(data, validation, config)
    found: dict[TrendChoice, float] = {}
    for half_life in TREND_HALF_LIVES:
        trend = _trend(data, validation, half_life)
        for weight in TREND_WEIGHTS:
            quality = judge(blend(model, trend, weight), data, validation)
            found[TrendChoice(half_life, weight)] = quality.overall.precision_at_k
    return max(found, key=lambda c: (found[c], -c.weight, -c.half_life_days))


def _trend(data: Interactions, split: TemporalSplit, half_life_days: float) -> Floats:
    return trend_scores(decayed_popularity(data, split.train, split.cutoff, half_life_days))


def _model_scores(data: Interactions, split: TemporalSplit, config: TrainingConfig) -> Floats:
    age_days = np.maximum(split.cutoff - data.times, 0.0) / DAY
    weights = np.asarray(0.5 ** (age_days / RECENCY_HALF_LIFE_DAYS), dtype=np.float32)
    embeddings = train(
        data.matrix(split.train), config, sample_weight=data.matrix(split.train, weights).tocoo()
    )
    return scores_of_test_users(embeddings, split)


def scores_of_test_users(embeddings: Embeddings, split: TemporalSplit) -> Floats:
    """Test users x items. A cold user has no learned vector (LightFM's untrained rows are
    random): their scores are the item biases alone, the model's own popularity."""
    vectors = embeddings.user_embeddings[split.test_users] * split.warm[:, np.newaxis]
    scores = vectors @ embeddings.item_embeddings.T + embeddings.item_biases[np.newaxis, :]
    return np.asarray(scores, dtype=np.float32)


@dataclass(frozen=True)
class WarmUpdateResult:
    updated: SplitQuality  # first 80%, then fit_partial on the next 10%
    retrained: SplitQuality  # from scratch on the first 90%
    stale: SplitQuality  # the first 80% alone, never updated
    update_seconds: float
    retrain_seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "ml100k_warm_p_at_10": round(self.updated.overall.precision_at_k, 4),
            "ml100k_full_retrain_p_at_10": round(self.retrained.overall.precision_at_k, 4),
            "ml100k_stale_p_at_10": round(self.stale.overall.precision_at_k, 4),
            "ml100k_warm_update_s": round(self.update_seconds, 3),
            "ml100k_full_retrain_s": round(self.retrain_seconds, 3),
        }


def run_warm_update(
    config: TrainingConfig | None = None, interactions: Interactions | None = None
) -> WarmUpdateResult:
    data = interactions or read_interactions()
    config = config or REPRODUCIBLE
    first = temporal_split(data, 0.2)  # before: the first 80%
    last = temporal_split(data, 0.1)  # after: the last 10%, judged
    learning = learner(config)
    learning.fit(data.matrix(first.train).tocoo(), epochs=config.epochs, num_threads=config.threads)
    stale = scores_of_test_users(embeddings_of(learning), last)
    started = time.perf_counter()
    keep_learning(learning, data.matrix(first.test & last.train), config)
    update_seconds = time.perf_counter() - started
    updated = scores_of_test_users(embeddings_of(learning), last)
    started = time.perf_counter()
    retrained = scores_of_test_users(train(data.matrix(last.train), config), last)
    retrain_seconds = time.perf_counter() - started
    return WarmUpdateResult(
        judge(updated, data, last),
        judge(retrained, data, last),
        judge(stale, data, last),
        update_seconds,
        retrain_seconds,
    )
