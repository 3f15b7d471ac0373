"""The batch job: read the event log (never the read models), train, evaluate, save a versioned
artefact, publish candidates per customer to Redis."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

from recommender import artefacts
from recommender.customer_signals import attributed, read_customers
from recommender.evaluation import evaluate_log
from recommender.hybrid import fit
from recommender.inventory_signals import InventoryFold, read_inventory
from recommender.lightfm_core import TrainingConfig
from recommender.publishing import publish
from recommender.rule_audit import audit_suggestions
from recommender.signals import LogSignals
from recommender.store import RecommendationStore

HOLD_OUT = timedelta(days=60)


@dataclass(frozen=True)
class TrainingReport:
    version: str
    position: int
    customers_position: int
    interactions: int
    new_interactions: int
    personalised_customers: int
    train_seconds: float
    evaluation: dict[str, Any] | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_log(
    inventory: Application[UUID], customers: Application[Any], previous: InventoryFold | None
) -> tuple[LogSignals, InventoryFold, int, int]:
    earlier = previous.interactions if previous else []
    fold = read_inventory(inventory, previous)
    new = len(fold.interactions)
    fold = replace(fold, interactions=[*earlier, *fold.interactions])
    people = read_customers(customers, fold.sku_products)
    signals = LogSignals(
        products=fold.product_facts(),
        customers=people.customers,
        interactions=attributed([*fold.interactions, *people.interactions], people),
        sku_products=dict(fold.sku_products),
        position=fold.position,
    )
    return signals, fold, new, people.position


def train_from_log(
    inventory: Application[UUID],
    customers: Application[Any],
    root: Path,
    now: datetime,
    since_last: bool = False,
    store: RecommendationStore | None = None,
    config: TrainingConfig | None = None,
) -> TrainingReport:
    found = artefacts.versions(root)
    previous = artefacts.load_fold(found[-1]) if since_last and found else None
    signals, fold, new, customers_position = read_log(inventory, customers, previous)
    evaluation = _evaluate(signals, now, config)
    started = time.perf_counter()
    model = fit(signals, now, config)
    seconds = time.perf_counter() - started
    directory = artefacts.next_version(root)
    meta = {
        "evaluation": evaluation,
        "customers_position": customers_position,
        "since_last": since_last,
        "train_seconds": round(seconds, 3),
    }
    artefacts.save(directory, model, fold, meta)
    if store is not None:
        publish(store, directory.name, model, signals)
    personalised = sum(1 for c in signals.customers.values() if c.may_personalise)
    return TrainingReport(
        directory.name,
        fold.position,
        customers_position,
        len(signals.interactions),
        new,
        personalised,
        round(seconds, 3),
        evaluation,
    )


def _evaluate(
    signals: LogSignals, now: datetime, config: TrainingConfig | None
) -> dict[str, Any] | None:
    """Time-based hold-out of the last 60 days; None when there is too little history."""
    cutoff = now - HOLD_OUT
    if not any(i.at < cutoff for i in signals.interactions) or not any(
        i.at >= cutoff for i in signals.interactions
    ):
        return None
    report, model = evaluate_log(signals, cutoff, config)
    return {**report.as_dict(), **audit_suggestions(model, signals).as_dict()}
