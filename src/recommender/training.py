"""The batch job (`glow recommend train`): read the event log (never the read models) and, when
configured, recent behaviour from ClickHouse; train from scratch, evaluate on a 60-day
hold-out, and put the model through the same promotion gate as the follower's candidates
(`continuous.py`): saved as a version either way, published to Redis and pointed at only when
it is not worse than the serving model on the fresh hold-out (or with `force`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

from recommender.behaviour_signals import BehaviourSource
from recommender.continuous import FULL, ModelKeeper
from recommender.customer_signals import read_customers
from recommender.evaluation import NothingToEvaluateError, evaluate_log
from recommender.inventory_signals import InventoryFold
from recommender.lightfm_core import TrainingConfig
from recommender.log_reading import LogRead, read_sources
from recommender.rule_audit import audit_suggestions
from recommender.signals import LogSignals
from recommender.store import RecommendationStore

__all__ = ["LogRead", "TrainingReport", "read_log", "read_sources", "train_from_log"]

HOLD_OUT = timedelta(days=60)


@dataclass(frozen=True)
class TrainingReport:
    version: str | None  # None: no candidate was built (nothing new to judge one on)
    position: int
    customers_position: int
    interactions: int
    new_interactions: int
    personalised_customers: int
    train_seconds: float
    evaluation: dict[str, Any] | None
    behaviour_interactions: int = 0  # implicit interactions from recent behaviour
    behaviour_capped: bool = False  # GLOW_RECOMMENDER_BEHAVIOUR_MAX_ROWS left older rows out
    promoted: bool = False
    reason: str = ""  # the gate's decision, or why no candidate was built
    serving: str | None = None  # the version serving after this run

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_log(
    inventory: Application[UUID],
    customers: Application[Any],
    previous: InventoryFold | None,
    behaviour: BehaviourSource | None = None,
    until: datetime | None = None,
) -> tuple[LogSignals, InventoryFold, int, int]:
    log = read_sources(inventory, customers, previous)
    signals, _ = log.signals(behaviour, until)
    return signals, log.fold, log.new, log.people.position


def train_from_log(
    inventory: Application[UUID],
    customers: Application[Any],
    root: Path,
    now: datetime,
    since_last: bool = False,
    store: RecommendationStore | None = None,
    config: TrainingConfig | None = None,
    behaviour: BehaviourSource | None = None,
    force: bool = False,
) -> TrainingReport:
    """A full retrain through the gate. `since_last`: read the log on from the serving
    version's saved state instead of from its start (the same interactions either way)."""
    keeper = ModelKeeper(root, inventory, customers, store, behaviour, config, resume=since_last)
    new = keeper.read()
    log = LogRead(keeper.fold, read_customers(customers, keeper.fold.sku_products), new)
    # Behaviour as it was at the hold-out's cut, so the evaluation sees no later browsing.
    evaluation = _evaluate(log.signals(behaviour, now - HOLD_OUT)[0], now, config)
    outcome = keeper.attempt(FULL, now, force=force, meta={"evaluation": evaluation})
    keeper.publish_catalog()  # a refused model still brings the catalog's changes to the API
    signals = outcome.signals or log.signals()[0]
    personalised = sum(1 for c in signals.customers.values() if c.may_personalise)
    return TrainingReport(
        outcome.version,
        keeper.fold.position,
        log.people.position,
        len(signals.interactions),
        new,
        personalised,
        float(outcome.record.get("train_seconds", outcome.seconds)),
        evaluation,
        int(outcome.record.get("behaviour_interactions", 0)),
        bool(outcome.record.get("behaviour_capped", False)),
        outcome.promoted,
        outcome.reason,
        keeper.serving.version if keeper.serving else None,
    )


def _evaluate(
    signals: LogSignals, now: datetime, config: TrainingConfig | None
) -> dict[str, Any] | None:
    """Time-based hold-out of the last 60 days; None when there is too little history (no
    consenting customer bought anything new to them after the cut included)."""
    cutoff = now - HOLD_OUT
    if not any(i.at < cutoff for i in signals.interactions) or not any(
        i.at >= cutoff for i in signals.interactions
    ):
        return None
    try:
        report, model = evaluate_log(signals, cutoff, config)
    except NothingToEvaluateError:
        return None
    return {**report.as_dict(), **audit_suggestions(model, signals).as_dict()}
