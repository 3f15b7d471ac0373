"""Time-based hold-out on the event log: train on what happened before a cut, then ask how
well each ranking predicts the products customers bought (and kept) after it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import numpy as np
import scipy.sparse as sp  # type: ignore[import-untyped]

from recommender.baselines import popularity
from recommender.hybrid import HybridModel, fit
from recommender.lightfm_core import Floats, Matrix, TrainingConfig
from recommender.metrics import Quality, evaluate
from recommender.signals import PURCHASE, RETURN, LogSignals


@dataclass(frozen=True)
class HoldOut:
    train: LogSignals
    test_users: list[str]
    test: Matrix  # test users x products: bought after the cut and not returned
    known: Matrix  # test users x products: bought before the cut


@dataclass(frozen=True)
class LogEvaluation:
    model: Quality
    popular: Quality
    popular_for_skin_type: Quality
    cold_start: Quality
    cutoff: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "cutoff": self.cutoff.isoformat(),
            "users": self.model.users,
            **self.model.as_dict("model_"),
            **self.popular.as_dict("popular_"),
            **self.popular_for_skin_type.as_dict("popular_for_skin_type_"),
            **self.cold_start.as_dict("cold_start_"),
        }


def hold_out(signals: LogSignals, cutoff: datetime) -> HoldOut:
    train = replace(signals, interactions=[i for i in signals.interactions if i.at < cutoff])
    codes = sorted(signals.products)
    at = {code: n for n, code in enumerate(codes)}
    later = [i for i in signals.interactions if i.at >= cutoff]
    returned = {(i.customer_id, i.product_code) for i in later if i.kind == RETURN}
    bought_after: dict[str, set[str]] = {}
    for i in later:
        key = (i.customer_id, i.product_code)
        if i.kind == PURCHASE and key not in returned and i.product_code in at:
            bought_after.setdefault(i.customer_id, set()).add(i.product_code)
    before: dict[str, set[str]] = {}
    for i in train.interactions:
        if i.kind == PURCHASE and i.product_code in at:
            before.setdefault(i.customer_id, set()).add(i.product_code)
    for customer, new in bought_after.items():  # only products new to the customer count
        new -= before.get(customer, set())
    users = sorted(
        c
        for c, codes in bought_after.items()
        if codes and c in signals.customers and signals.customers[c].may_personalise
    )
    return HoldOut(
        train,
        users,
        _matrix([bought_after[u] for u in users], at),
        _matrix([before.get(u, set()) for u in users], at),
    )


def _matrix(rows: list[set[str]], at: dict[str, int]) -> Matrix:
    cells = [(n, at[code]) for n, codes in enumerate(rows) for code in codes]
    r = np.array([c[0] for c in cells], dtype=np.int32)
    c = np.array([c[1] for c in cells], dtype=np.int32)
    data = np.ones(len(cells), dtype=np.float32)
    return sp.csr_matrix((data, (r, c)), shape=(len(rows), len(at)))


def evaluate_log(
    signals: LogSignals, cutoff: datetime, config: TrainingConfig | None = None, k: int = 10
) -> tuple[LogEvaluation, HybridModel]:
    split = hold_out(signals, cutoff)
    model = fit(split.train, cutoff, config)
    profiles = [split.train.customers[u] for u in split.test_users]
    codes = model.product_codes
    empty = np.zeros((0, len(codes)), dtype=np.float32)  # nobody bought after the cut
    scores = np.vstack([model.scores(p) for p in profiles]) if profiles else empty
    counts = popularity(split.train)
    overall = np.array([counts.overall[c] for c in codes], dtype=np.float32)
    popular = np.tile(overall, (len(profiles), 1))
    for_skin = (
        np.vstack([_rank_scores(counts.ranked(p.skin_type), codes) for p in profiles])
        if profiles
        else empty
    )
    cold = np.array([not model.knows(u) for u in split.test_users], dtype=bool)
    cold_quality = evaluate(scores[cold], split.test[cold], split.known[cold], k)
    return (
        LogEvaluation(
            evaluate(scores, split.test, split.known, k),
            evaluate(popular, split.test, split.known, k),
            evaluate(for_skin, split.test, split.known, k),
            cold_quality,
            cutoff,
        ),
        model,
    )


def _rank_scores(ranked: list[str], codes: list[str]) -> Floats:
    position = {code: n for n, code in enumerate(ranked)}
    return np.array([-position.get(c, len(ranked)) for c in codes], dtype=np.float32)
