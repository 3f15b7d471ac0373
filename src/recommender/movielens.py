"""MovieLens 100k as shipped inside the `recbole==1.2.1` wheel (GroupLens terms: read at run time,
never stored here). Read through importlib.resources from the package's spec, without running any
of recbole's code; install with `pip install --no-deps recbole==1.2.1`."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from importlib.resources import files

import numpy as np
import scipy.sparse as sp  # type: ignore[import-untyped]

from recommender.lightfm_core import Matrix, TrainingConfig, identity, score_matrix, train
from recommender.metrics import Quality, evaluate, popularity_scores
from recommender.temporal import Interactions

RESOURCE = "dataset_example/ml-100k/ml-100k.inter"


class MovieLensMissingError(RuntimeError):
    """The recbole wheel is not installed."""


def interactions_text() -> str:
    spec = importlib.util.find_spec("recbole")
    if spec is None:
        raise MovieLensMissingError(
            "MovieLens 100k needs the recbole wheel: pip install --no-deps recbole==1.2.1"
        )
    module = importlib.util.module_from_spec(spec)  # not executed: recbole's code never runs
    return files(module).joinpath(RESOURCE).read_text(encoding="utf-8")


@dataclass(frozen=True)
class Split:
    train: Matrix
    test: Matrix


def read_interactions(text: str | None = None) -> Interactions:
    """Every rating as an interaction (a rating of any value says the user watched it), with
    its timestamp; users and items by dense index in the order of their ids."""
    rows = [line.split("\t") for line in (text or interactions_text()).splitlines()[1:] if line]
    users = np.unique([r[0] for r in rows], return_inverse=True)[1].astype(np.int64)
    items = np.unique([r[1] for r in rows], return_inverse=True)[1].astype(np.int64)
    times = np.array([float(r[3]) for r in rows], dtype=np.float64)
    return Interactions(users, items, times, (int(users.max()) + 1, int(items.max()) + 1))


def random_split(text: str, test_share: float = 0.2, seed: int = 42) -> Split:
    rows = [line.split("\t") for line in text.splitlines()[1:] if line.strip()]
    users = np.unique([r[0] for r in rows], return_inverse=True)[1]
    items = np.unique([r[1] for r in rows], return_inverse=True)[1]
    shape = (int(users.max()) + 1, int(items.max()) + 1)
    held_out = np.random.default_rng(seed).random(len(rows)) < test_share

    def matrix(mask: np.ndarray) -> Matrix:
        ones = np.ones(int(mask.sum()), dtype=np.float32)
        return sp.csr_matrix((ones, (users[mask], items[mask])), shape=shape)

    return Split(matrix(~held_out), matrix(held_out))


@dataclass(frozen=True)
class MovieLensResult:
    model: Quality
    popular: Quality
    train_seconds: float
    interactions: int


def run(config: TrainingConfig | None = None, seed: int = 42) -> MovieLensResult:
    import time

    split = random_split(interactions_text(), seed=seed)
    started = time.perf_counter()
    embeddings = train(split.train, config or TrainingConfig())
    seconds = time.perf_counter() - started
    users, items = split.train.shape
    scores = score_matrix(embeddings, identity(users), identity(items))
    return MovieLensResult(
        evaluate(scores, split.test, split.train),
        evaluate(popularity_scores(split.train, users), split.test, split.train),
        seconds,
        int(split.train.nnz),
    )
