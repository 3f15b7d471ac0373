"""The batch job: read the event log (never the read models) and, when configured, recent
behaviour from ClickHouse; train, evaluate, save a versioned artefact, publish candidates per
customer to Redis."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

from recommender import artefacts
from recommender.behaviour_signals import NOTHING, BehaviourRead, BehaviourSource
from recommender.customer_signals import CustomerFold, attributed, read_customers
from recommender.evaluation import NothingToEvaluateError, evaluate_log
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
    behaviour_interactions: int = 0  # implicit interactions from recent behaviour
    behaviour_capped: bool = False  # GLOW_RECOMMENDER_BEHAVIOUR_MAX_ROWS left older rows out

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LogRead:
    """What the event logs yield, before recent behaviour is added as of some moment."""

    fold: InventoryFold
    people: CustomerFold
    new: int  # interactions read from the inventory log in this run

    def signals(
        self, behaviour: BehaviourSource | None = None, until: datetime | None = None
    ) -> tuple[LogSignals, BehaviourRead]:
        """The signals, with the behaviour of the window before `until` when a source is
        given: only of customers who may be personalised (a merged customer's under the
        survivor's consent and id, as their purchases)."""
        implicit = NOTHING
        if behaviour is not None and until is not None:
            implicit = behaviour.read(self.personalised(), self.fold.sku_products, until)
        interactions = [*self.fold.interactions, *self.people.interactions, *implicit.interactions]
        signals = LogSignals(
            products=self.fold.product_facts(),
            customers=self.people.customers,
            interactions=attributed(interactions, self.people),
            sku_products=dict(self.fold.sku_products),
            position=self.fold.position,
            sku_prices=self.fold.prices(),
        )
        return signals, implicit

    def personalised(self) -> list[str]:
        customers = self.people.customers
        return [
            cid
            for cid, facts in customers.items()
            if not facts.forgotten
            and (survivor := customers.get(self.people.survivor(cid))) is not None
            and survivor.may_personalise
        ]


def read_sources(
    inventory: Application[UUID], customers: Application[Any], previous: InventoryFold | None
) -> LogRead:
    earlier = previous.interactions if previous else []
    fold = read_inventory(inventory, previous)
    new = len(fold.interactions)
    fold = replace(fold, interactions=[*earlier, *fold.interactions])
    return LogRead(fold, read_customers(customers, fold.sku_products), new)


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
) -> TrainingReport:
    found = artefacts.versions(root)
    previous = artefacts.load_fold(found[-1]) if since_last and found else None
    log = read_sources(inventory, customers, previous)
    fold, customers_position = log.fold, log.people.position
    signals, implicit = log.signals(behaviour, now)
    # Behaviour as it was at the hold-out's cut, so the evaluation sees no later browsing.
    evaluation = _evaluate(log.signals(behaviour, now - HOLD_OUT)[0], now, config)
    started = time.perf_counter()
    model = fit(signals, now, config)
    seconds = time.perf_counter() - started
    directory = artefacts.next_version(root)
    meta = {
        "evaluation": evaluation,
        "customers_position": customers_position,
        "since_last": since_last,
        "train_seconds": round(seconds, 3),
        **implicit.as_dict(),  # counts only: behaviour is read afresh, never kept in a model
    }
    artefacts.save(directory, model, fold, meta)
    if store is not None:
        publish(store, directory.name, model, signals, artefacts.load_index(directory))
    personalised = sum(1 for c in signals.customers.values() if c.may_personalise)
    return TrainingReport(
        directory.name,
        fold.position,
        customers_position,
        len(signals.interactions),
        log.new,
        personalised,
        round(seconds, 3),
        evaluation,
        len(implicit.interactions),
        implicit.capped,
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
