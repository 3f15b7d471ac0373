"""The LightFM part, on plain sparse matrices: train with WARP, then score from the learned
feature embeddings (so a user or item unseen in training still gets scores from its features).

`continue_training` goes on from a trained state with LightFM's `fit_partial` (a warm update):
the embeddings and biases with their adagrad accumulators (`LearnerState`), which a fresh
LightFM would otherwise reset to one. `grown` lays an embedding table out for a feature space
that gained (or lost) rows: kept rows keep what they learned and their accumulators, new rows
start as LightFM starts them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import scipy.sparse as sp  # type: ignore[import-untyped]
from lightfm import LightFM  # type: ignore[import-untyped]
from numpy.typing import NDArray

Matrix: TypeAlias = Any  # a scipy.sparse CSR matrix: scipy ships no type information
Floats = NDArray[np.float32]
Ints = NDArray[np.int64]


@dataclass(frozen=True)
class TrainingConfig:
    components: int = 64
    epochs: int = 30
    learning_rate: float = 0.05
    item_alpha: float = 0.0
    user_alpha: float = 0.0
    seed: int = 42
    threads: int = 2


@dataclass(frozen=True)
class LearnerState:
    """LightFM's adagrad accumulators (its `*_gradients` arrays: the running sums of squared
    gradients that scale each feature's steps). Without them a continued model would take
    first-epoch-sized steps again on every feature."""

    user_embedding_gradients: Floats
    user_bias_gradients: Floats
    item_embedding_gradients: Floats
    item_bias_gradients: Floats

    @classmethod
    def fresh(cls, embeddings: Embeddings) -> LearnerState:
        """Accumulators as LightFM initialises them for adagrad (ones)."""
        return cls(
            np.ones_like(embeddings.user_embeddings),
            np.ones_like(embeddings.user_biases),
            np.ones_like(embeddings.item_embeddings),
            np.ones_like(embeddings.item_biases),
        )


@dataclass
class Embeddings:
    """What serving needs from a trained model: per-feature embeddings and biases; and, for a
    warm update, the learner's state (None for artefacts saved before it was kept)."""

    user_embeddings: Floats
    user_biases: Floats
    item_embeddings: Floats
    item_biases: Floats
    state: LearnerState | None = None

    def users(self, features: Matrix) -> tuple[Floats, Floats]:
        return features @ self.user_embeddings, features @ self.user_biases

    def items(self, features: Matrix) -> tuple[Floats, Floats]:
        return features @ self.item_embeddings, features @ self.item_biases


def normalised(features: Matrix) -> Matrix:
    """Rows summing to 1, as LightFM's own Dataset builds them."""
    sums = np.asarray(features.sum(axis=1)).ravel()
    sums[sums == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / sums) @ features)


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
    """A warm update of a learner still in memory: `fit_partial` on new interactions, from its
    current state (the matrices keep the shape it was first trained with). The service's
    warm update, from a saved artefact, is `continue_training`."""
    model.fit_partial(
        interactions.tocoo(),
        sample_weight=None if sample_weight is None else sample_weight.tocoo(),
        epochs=config.epochs if epochs is None else epochs,
        num_threads=config.threads,
    )
    return model


def continue_training(
    embeddings: Embeddings,
    interactions: Matrix,
    config: TrainingConfig,
    user_features: Matrix,
    item_features: Matrix,
    sample_weight: Matrix | None = None,
    epochs: int = 5,
) -> Embeddings:
    """`epochs` more passes of WARP with `fit_partial` over `interactions`, from `embeddings`
    and their learner state (fresh accumulators when the artefact kept none). The feature
    matrices' widths must be the embeddings' rows (lay them out with `grown` first)."""
    if user_features.shape[1] != embeddings.user_embeddings.shape[0]:
        raise ValueError(
            f"user features have {user_features.shape[1]} columns, the embeddings "
            f"{embeddings.user_embeddings.shape[0]} rows: grow the embeddings first"
        )
    if item_features.shape[1] != embeddings.item_embeddings.shape[0]:
        raise ValueError(
            f"item features have {item_features.shape[1]} columns, the embeddings "
            f"{embeddings.item_embeddings.shape[0]} rows: grow the embeddings first"
        )
    state = embeddings.state or LearnerState.fresh(embeddings)
    model = learner(config)
    # LightFM trains these arrays in place: copies, so the serving model is never touched.
    model.user_embeddings = embeddings.user_embeddings.copy()
    model.user_biases = embeddings.user_biases.copy()
    model.item_embeddings = embeddings.item_embeddings.copy()
    model.item_biases = embeddings.item_biases.copy()
    model.user_embedding_gradients = state.user_embedding_gradients.copy()
    model.user_bias_gradients = state.user_bias_gradients.copy()
    model.item_embedding_gradients = state.item_embedding_gradients.copy()
    model.item_bias_gradients = state.item_bias_gradients.copy()
    model.user_embedding_momentum = np.zeros_like(model.user_embeddings)  # adadelta's only
    model.user_bias_momentum = np.zeros_like(model.user_biases)
    model.item_embedding_momentum = np.zeros_like(model.item_embeddings)
    model.item_bias_momentum = np.zeros_like(model.item_biases)
    model.fit_partial(
        interactions.tocoo(),
        user_features=user_features,
        item_features=item_features,
        sample_weight=sample_weight,
        epochs=epochs,
        num_threads=config.threads,
    )
    return embeddings_of(model)


def grown(
    embeddings: Embeddings, user_rows: Ints, item_rows: Ints, components: int, seed: int
) -> Embeddings:
    """The embeddings laid out for new feature spaces: row n of the result is row
    `user_rows[n]` (or `item_rows[n]`) of these, or, where that is -1, a new feature initialised
    as LightFM initialises one (uniform in +-0.5/components, bias 0, accumulator 1)."""
    random = np.random.RandomState(seed)
    state = embeddings.state or LearnerState.fresh(embeddings)
    users, user_grads = _rows(
        embeddings.user_embeddings, state.user_embedding_gradients, user_rows, components, random
    )
    items, item_grads = _rows(
        embeddings.item_embeddings, state.item_embedding_gradients, item_rows, components, random
    )
    user_bias, user_bias_grads = _biases(
        embeddings.user_biases, state.user_bias_gradients, user_rows
    )
    item_bias, item_bias_grads = _biases(
        embeddings.item_biases, state.item_bias_gradients, item_rows
    )
    return Embeddings(
        users,
        user_bias,
        items,
        item_bias,
        LearnerState(user_grads, user_bias_grads, item_grads, item_bias_grads),
    )


def _rows(
    table: Floats, gradients: Floats, rows: Ints, components: int, random: np.random.RandomState
) -> tuple[Floats, Floats]:
    kept = rows >= 0
    out = ((random.rand(len(rows), components) - 0.5) / components).astype(np.float32)
    out[kept] = table[rows[kept]]
    accumulated = np.ones((len(rows), components), dtype=np.float32)
    accumulated[kept] = gradients[rows[kept]]
    return out, accumulated


def _biases(biases: Floats, gradients: Floats, rows: Ints) -> tuple[Floats, Floats]:
    kept = rows >= 0
    out = np.zeros(len(rows), dtype=np.float32)
    out[kept] = biases[rows[kept]]
    accumulated = np.ones(len(rows), dtype=np.float32)
    accumulated[kept] = gradients[rows[kept]]
    return out, accumulated


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


def embeddings_of(model: Any) -> Embeddings:
    def floats(values: Any) -> Floats:
        return np.asarray(values, dtype=np.float32)

    return Embeddings(
        floats(model.user_embeddings),
        floats(model.user_biases),
        floats(model.item_embeddings),
        floats(model.item_biases),
        LearnerState(
            floats(model.user_embedding_gradients),
            floats(model.user_bias_gradients),
            floats(model.item_embedding_gradients),
            floats(model.item_bias_gradients),
        ),
    )


def identity(size: int) -> Matrix:
    return sp.identity(size, dtype=np.float32, format="csr")


def score_matrix(embeddings: Embeddings, user_features: Matrix, item_features: Matrix) -> Floats:
    """users x items scores (the user bias is left out: it does not change a user's ranking)."""
    users, _ = embeddings.users(user_features)
    items, item_bias = embeddings.items(item_features)
    return np.asarray(users @ items.T + item_bias[np.newaxis, :], dtype=np.float32)
