"""Time-based hold-out on the event log: train on what happened before a cut, then ask how
well each ranking predicts the products customers bought (and kept) after it. Test customers
the model knew before the cut (warm) and those it did not (cold: a profile at most) are
reported apart, and against most-popular, popular-for-skin-type and recent-popular (the
window chosen on a validation cut inside the training period)."""

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
from recommender.temporal import Interactions, best_window, recent_popularity, temporal_split

RECENT_DAYS = (7.0, 14.0, 30.0, 60.0, 90.0)  # recent-popular windows tried on validation


class NothingToEvaluateError(ValueError):
    """No consenting customer bought anything new after the cut: no figure would mean a thing."""


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
    recent_popular: Quality
    warm_model: Quality  # test customers the model knew before the cut
    cold_model: Quality  # the others: scored from their profile alone
    recent_days: float
    cutoff: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "cutoff": self.cutoff.isoformat(),
            "users": self.model.users,
            "warm_users": self.warm_model.users,
            "cold_users": self.cold_model.users,
            "recent_days": self.recent_days,
            **self.model.as_dict("model_"),
            **self.popular.as_dict("popular_"),
            **self.popular_for_skin_type.as_dict("popular_for_skin_type_"),
            **self.recent_popular.as_dict("recent_popular_"),
            **self.warm_model.as_dict("warm_model_"),
            **self.cold_model.as_dict("cold_model_"),
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
        product_matrix([bought_after[u] for u in users], at),
        product_matrix([before.get(u, set()) for u in users], at),
    )


def product_matrix(rows: list[set[str]], at: dict[str, int]) -> Matrix:
    """Customers x products, 1 where a customer's set names the product (`at`: its column)."""
    cells = [(n, at[code]) for n, codes in enumerate(rows) for code in codes]
    r = np.array([c[0] for c in cells], dtype=np.int32)
    c = np.array([c[1] for c in cells], dtype=np.int32)
    data = np.ones(len(cells), dtype=np.float32)
    return sp.csr_matrix((data, (r, c)), shape=(len(rows), len(at)))


def evaluate_log(
    signals: LogSignals, cutoff: datetime, config: TrainingConfig | None = None, k: int = 10
) -> tuple[LogEvaluation, HybridModel]:
    split = hold_out(signals, cutoff)
    if not split.test_users:
        raise NothingToEvaluateError(
            f"nothing to evaluate: no customer with the personalisation consent bought a product"
            f" new to them on or after {cutoff.isoformat()}; expected purchases on both sides"
            " of the cut (a longer log, or fewer --holdout-days)"
        )
    model = fit(split.train, cutoff, config)
    profiles = [split.train.customers[u] for u in split.test_users]
    codes = model.product_codes
    empty = np.zeros((0, len(codes)), dtype=np.float32)  # nobody bought after the cut
    scores = np.vstack([model.scores(p) for p in profiles]) if profiles else empty
    counts = popularity(split.train)
    overall = np.array([counts.overall[c] for c in codes], dtype=np.float32)
    popular = np.tile(overall, (len(profiles), 1))
    for_skin = np.vstack([_rank_scores(counts.ranked(p.skin_type), codes) for p in profiles])
    purchases = _purchases(split.train, codes)
    days = _recent_window(purchases)
    everything = np.ones(len(purchases.times), dtype=bool)
    recent = recent_popularity(purchases, everything, cutoff.timestamp(), days)
    cold = np.array([not model.knows(u) for u in split.test_users], dtype=bool)
    warm = ~cold
    return (
        LogEvaluation(
            evaluate(scores, split.test, split.known, k),
            evaluate(popular, split.test, split.known, k),
            evaluate(for_skin, split.test, split.known, k),
            evaluate(np.tile(recent, (len(profiles), 1)), split.test, split.known, k),
            evaluate(scores[warm], split.test[warm], split.known[warm], k),
            evaluate(scores[cold], split.test[cold], split.known[cold], k),
            days,
            cutoff,
        ),
        model,
    )


def _purchases(train: LogSignals, codes: list[str]) -> Interactions:
    """Every purchase before the cut, by anyone (counts only), as arrays."""
    at = {code: n for n, code in enumerate(codes)}
    bought = [i for i in train.interactions if i.kind == PURCHASE and i.product_code in at]
    people = {c: n for n, c in enumerate(sorted({i.customer_id for i in bought}))}
    return Interactions(
        np.array([people[i.customer_id] for i in bought], dtype=np.int64),
        np.array([at[i.product_code] for i in bought], dtype=np.int64),
        np.array([i.at.timestamp() for i in bought], dtype=np.float64),
        (len(people), len(codes)),
    )


def _recent_window(purchases: Interactions) -> float:
    """The recent-popular window that best predicted the last fifth of the purchases before
    the cut from the rest (the longest candidate when there is too little to tell)."""
    if len(purchases.times) < 10:
        return RECENT_DAYS[-1]
    return best_window(purchases, temporal_split(purchases, 0.2), RECENT_DAYS)


def _rank_scores(ranked: list[str], codes: list[str]) -> Floats:
    position = {code: n for n, code in enumerate(ranked)}
    return np.array([-position.get(c, len(ranked)) for c in codes], dtype=np.float32)
