"""Ranking quality on a hold-out: precision@k, recall@k and AUC, with items a user already had in
training left out of their ranking (as LightFM's own evaluation does with train_interactions)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp  # type: ignore[import-untyped]

from recommender.lightfm_core import Floats, Matrix


@dataclass(frozen=True)
class Quality:
    precision_at_k: float
    recall_at_k: float
    auc: float
    users: int
    k: int = 10

    def as_dict(self, prefix: str = "") -> dict[str, float]:
        return {
            f"{prefix}p_at_{self.k}": round(self.precision_at_k, 4),
            f"{prefix}recall_at_{self.k}": round(self.recall_at_k, 4),
            f"{prefix}auc": round(self.auc, 4),
        }


def evaluate(scores: Floats, test: Matrix, train: Matrix | None = None, k: int = 10) -> Quality:
    """`scores` users x items; `test` and `train` users x items with a nonzero per interaction."""
    test = sp.csr_matrix(test)
    train = sp.csr_matrix(train) if train is not None else None
    precisions, recalls, aucs = [], [], []
    for user in range(test.shape[0]):
        relevant = test.indices[test.indptr[user] : test.indptr[user + 1]]
        if len(relevant) == 0:
            continue
        row = scores[user].astype(np.float64, copy=True)
        if train is not None:
            known = train.indices[train.indptr[user] : train.indptr[user + 1]]
            row[known] = -np.inf
        top = np.argpartition(-row, k)[:k] if len(row) > k else np.arange(len(row))
        hits = len(np.intersect1d(top, relevant, assume_unique=True))
        precisions.append(hits / k)
        recalls.append(hits / len(relevant))
        aucs.append(_auc(row, relevant))
    return Quality(
        float(np.mean(precisions)) if precisions else 0.0,
        float(np.mean(recalls)) if recalls else 0.0,
        float(np.mean(aucs)) if aucs else 0.0,
        len(precisions),
        k,
    )


def _auc(row: np.ndarray, relevant: np.ndarray) -> float:
    """The chance that a relevant item outranks an irrelevant one (ties count half)."""
    candidates = np.isfinite(row)
    positives = row[relevant]
    mask = candidates.copy()
    mask[relevant] = False
    negatives = np.sort(row[mask])
    if len(negatives) == 0 or len(positives) == 0:
        return 0.5
    below = np.searchsorted(negatives, positives, side="left")
    ties = np.searchsorted(negatives, positives, side="right") - below
    return float(np.mean((below + 0.5 * ties) / len(negatives)))


def popularity_scores(train: Matrix, users: int) -> Floats:
    """The most-popular baseline: every user gets the items ranked by training count."""
    counts = np.asarray((sp.csr_matrix(train) > 0).sum(axis=0), dtype=np.float32).ravel()
    return np.asarray(np.tile(counts, (users, 1)), dtype=np.float32)
