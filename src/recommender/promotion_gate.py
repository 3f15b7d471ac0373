"""The promotion gate: a candidate model replaces the serving one only if it is not worse on a
FRESH hold-out, the newest interactions that neither model learned from.

The hold-out is the newest share (`HOLDOUT_SHARE`) of the inventory interactions that arrived
since the serving model; the candidate learns from everything before them. Judged on it: each
consenting customer who bought (and did not return) in the hold-out a product they had not
bought before; both models rank every product for them, leaving out what they had already
bought, as `evaluation.hold_out` does. A product the serving model never saw ranks last for it
(it could not have suggested it). The behaviour intent is left out of both rankings: it is read
as of now, after the hold-out began.

The tolerance. Per customer, the candidate's precision@10 and AUC minus the serving model's;
the candidate is refused when the mean difference is below `-tolerance` for either, where the
tolerance is twice the standard error of that mean (the paired difference: a model that is
worse by less than that is not distinguishable from an equal one on this hold-out, so
refusing it would refuse good models by chance about one time in forty), never below a floor
(`FLOOR`, so that a tiny, consistent loss still counts when all customers agree) and never
above a cap (`CAP`, so that a hold-out of a handful of customers cannot wave a clearly worse
model through). With fewer than `MIN_JUDGES` customers there is no judgement to make and no
candidate is built."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import scipy.sparse as sp  # type: ignore[import-untyped]

from recommender.evaluation import product_matrix
from recommender.hybrid import HybridModel
from recommender.lightfm_core import Floats, Matrix
from recommender.metrics import evaluate
from recommender.signals import PURCHASE, RETURN, CustomerFacts, Interaction, LogSignals

HOLDOUT_SHARE = 0.2
MIN_JUDGES = 5
K = 10
FLOOR = {"p_at_10": 0.005, "auc": 0.005}
CAP = {"p_at_10": 0.02, "auc": 0.02}


@dataclass(frozen=True)
class FreshHoldOut:
    """The judges: per customer, what they bought after the cut (new to them) and before."""

    customers: list[str]
    profiles: list[CustomerFacts]  # the customers' facts, as the models score them
    products: list[str]
    test: Matrix  # customers x products
    known: Matrix  # customers x products: bought in what the models learn from
    interactions: int  # in the hold-out, of any kind
    first_at: str | None = None
    last_at: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "interactions": self.interactions,
            "customers_judged": len(self.customers),
            "purchases_judged": int(self.test.nnz),
            "from": self.first_at,
            "until": self.last_at,
        }


def split(interactions: Sequence[Interaction], fresh_from: int) -> int:
    """Where the hold-out starts in `interactions` (log order): the newest `HOLDOUT_SHARE` of
    those from index `fresh_from` on, at least one when there are any."""
    fresh = len(interactions) - fresh_from
    if fresh <= 0:
        return len(interactions)
    return len(interactions) - max(1, math.ceil(HOLDOUT_SHARE * fresh))


def hold_out(learned: LogSignals, held: Sequence[Interaction]) -> FreshHoldOut:
    """The judges of `held` (already attributed to surviving customers), against what
    `learned` holds before it."""
    products = sorted(learned.products)
    at = {code: n for n, code in enumerate(products)}
    returned = {(i.customer_id, i.product_code) for i in held if i.kind == RETURN}
    before: dict[str, set[str]] = {}
    for i in learned.interactions:
        if i.kind == PURCHASE and i.product_code in at:
            before.setdefault(i.customer_id, set()).add(i.product_code)
    after: dict[str, set[str]] = {}
    for i in held:
        key = (i.customer_id, i.product_code)
        new_to_them = i.product_code not in before.get(i.customer_id, set())
        if i.kind == PURCHASE and key not in returned and i.product_code in at and new_to_them:
            after.setdefault(i.customer_id, set()).add(i.product_code)
    customers = sorted(
        c for c in after if c in learned.customers and learned.customers[c].may_personalise
    )
    times = sorted(i.at for i in held)
    return FreshHoldOut(
        customers,
        [learned.customers[c] for c in customers],
        products,
        product_matrix([after[c] for c in customers], at),
        product_matrix([before.get(c, set()) for c in customers], at),
        len(held),
        times[0].isoformat() if times else None,
        times[-1].isoformat() if times else None,
    )


@dataclass(frozen=True)
class Judgement:
    """Both models on the same hold-out, and the decision."""

    promote: bool
    reason: str
    candidate: dict[str, float] = field(default_factory=dict)
    serving: dict[str, float] = field(default_factory=dict)
    difference: dict[str, float] = field(default_factory=dict)
    tolerance: dict[str, float] = field(default_factory=dict)
    forced: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "promoted": self.promote,
            "forced": self.forced,
            "reason": self.reason,
            "candidate": self.candidate,
            "serving": self.serving,
            "difference": self.difference,
            "tolerance": self.tolerance,
        }

    def forcing(self) -> Judgement:
        """The same figures, promoted anyway (`glow recommend train --force`)."""
        if self.promote:
            return self
        return replace(
            self, promote=True, forced=True, reason=f"promoted by --force; {self.reason}"
        )


def first_model() -> Judgement:
    return Judgement(True, "no model was serving: the first version is promoted")


def judge(candidate: HybridModel, serving: HybridModel, judges: FreshHoldOut) -> Judgement:
    """Whether `candidate` is not worse than `serving` on `judges` (see the module's note)."""
    mine = _per_customer(candidate, judges)
    theirs = _per_customer(serving, judges)
    ours: dict[str, float] = {}
    served: dict[str, float] = {}
    differences: dict[str, float] = {}
    tolerances: dict[str, float] = {}
    worse = []
    for metric in ("p_at_10", "auc"):
        difference = mine[metric] - theirs[metric]
        spread = float(difference.std(ddof=1)) if len(difference) > 1 else math.inf
        error = spread / math.sqrt(len(difference))
        tolerance = min(CAP[metric], max(FLOOR[metric], 2.0 * error))
        mean = float(difference.mean())
        ours[metric] = round(float(mine[metric].mean()), 4)
        served[metric] = round(float(theirs[metric].mean()), 4)
        differences[metric] = round(mean, 4)
        tolerances[metric] = round(tolerance, 4)
        if mean < -tolerance:
            worse.append(
                f"{metric} {mean:+.4f} (candidate {mine[metric].mean():.4f}, serving "
                f"{theirs[metric].mean():.4f}) is below the tolerance -{tolerance:.4f}"
            )
    judged = f"on {len(judges.customers)} customers' {judges.test.nnz} new purchases"
    figures = (ours, served, differences, tolerances)
    if worse:
        return Judgement(False, f"worse {judged}: " + "; ".join(worse), *figures)
    return Judgement(True, f"not worse {judged} (p@10 and AUC within tolerance)", *figures)


def _per_customer(model: HybridModel, judges: FreshHoldOut) -> dict[str, Floats]:
    """Each judge's precision@10 and AUC from `model`'s ranking of `judges.products`."""
    plain = replace(model, intent={})  # behaviour is read as of now: after the cut
    position = {code: n for n, code in enumerate(plain.product_codes)}
    columns = np.array([position.get(code, -1) for code in judges.products], dtype=np.int64)
    unseen = columns < 0
    test, known = sp.csr_matrix(judges.test), sp.csr_matrix(judges.known)
    precision, auc = [], []
    for n, facts in enumerate(judges.profiles):
        own = plain.scores(facts)
        row = np.empty(len(columns), dtype=np.float32)
        row[~unseen] = own[columns[~unseen]]
        row[unseen] = float(own.min()) - 1.0 if len(own) else 0.0
        quality = evaluate(row[np.newaxis, :], test[n], known[n], K)
        precision.append(quality.precision_at_k)
        auc.append(quality.auc)
    return {
        "p_at_10": np.asarray(precision, dtype=np.float64),
        "auc": np.asarray(auc, dtype=np.float64),
    }
