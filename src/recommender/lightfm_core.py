"""The LightFM part, on plain sparse matrices: train with WARP, then score from the learned
feature embeddings (so a user or item unseen in training still gets scores from its features)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import scipy.sparse as sp  # type: ignore[import-untyped]
from lightfm import LightFM  # type: ignore[import-untyped]
from numpy.typing import NDArray

Matrix: TypeAlias = Any  # a scipy.sparse CSR matrix: scipy ships no type information
Floats = NDArray[np.float32]


@dataclass(frozen=True)
class TrainingConfig:
    components: int = 64
    epochs: int = 30
    learning_rate: float = 0.05
    item_alpha: float = 0.0
    user_alpha: float = 0.0
    seed: int = 42
    threads: int = 2


@dataclass
class Embeddings:
    """What serving needs from a trained model: per-feature embeddings and biases."""

    user_embeddings: Floats
    user_biases: Floats
    item_embeddings: Floats
    item_biases: Floats

    def users(self, features: Matrix) -> tuple[Floats, Floats]:
        return features @ self.user_embeddings, features @ self.user_biases

    def items(self, features: Matrix) -> tuple[Floats, Floats]:
        return features @ self.item_embeddings, features @ self.item_biases


def normalised(features: Matrix) -> Matrix:
    """Rows summing to 1, as LightFM's own Dataset builds them."""
    sums = np.asarray(features.sum(axis=1)).ravel()
    sums[sums == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / sums) @ features)


def learner(config: TrainingConfig) -> Any:
    """An untrained LightFM WARP learner (its state is what a warm update continues)."""
    return LightFM(
        loss="warp",
        no_components=config.components,
        learning_rate=config.learning_rate,
        item_alpha=config.item_alpha,
        user_alpha=config.user_alpha,
        random_state=np.random.RandomState(config.seed),
    )


def train(
    interactions: Matrix,
    config: TrainingConfig,
    user_features: Matrix | None = None,
    item_features: Matrix | None = None,
    sample_weight: Matrix | None = None,
) -> Embeddings:
    model = learner(config)
    model.fit(
        interactions.tocoo(),
        user_features=user_features,
        item_features=item_features,
        sample_weight=sample_weight,
        epochs=config.epochs,
        num_threads=config.threads,
    )
    return embeddings_of(model)


def keep_learning(
    model: Any,
    interactions: Matrix,
    config: TrainingConfig,
    sample_weight: Matrix | None = None,
    epochs: int | None = None,
) -> Any:
    """A warm update: `fit_partial` on new interactions, from the learner's current state
    (the matrices keep the shape it was first trained with)."""
    model.fit_partial(
        interactions.tocoo(),
        sample_weight=None if sample_weight is None else sample_weight.tocoo(),
        epochs=config.epochs if epochs is None else epochs,
        num_threads=config.threads,
    )
    return model


def embeddings_of(model: Any) -> Embeddings:
    return Embeddings(
        np.asarray(model.user_embeddings, dtype=np.float32),
        np.asarray(model.user_biases, dtype=np.float32),
        np.asarray(model.item_embeddings, dtype=np.float32),
        np.asarray(model.item_biases, dtype=np.float32),
    )


def identity(size: int) -> Matrix:
    return sp.identity(size, dtype=np.float32, format="csr")


def score_matrix(embeddings: Embeddings, user_features: Matrix, item_features: Matrix) -> Floats:
    """users x items scores (the user bias is left out: it does not change a user's ranking)."""
    users, _ = embeddings.users(user_features)
    items, item_bias = embeddings.items(item_features)
    return np.asarray(users @ items.T + item_bias[np.newaxis, :], dtype=np.float32)
