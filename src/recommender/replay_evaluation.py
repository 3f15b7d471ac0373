"""Offline policy evaluation by replaying the event log: what a candidate (a model and a ranking
policy) would have served at T1, scored on what customers actually bought in [T1, T2).

The state is the one the ledger had at T1: the inventory fold and the customer fold read only
the events of before T1 (by the instant they were recorded, or with `occurred` by the instant
their trace says they happened: `audit.time_travel.event_instant`), so the catalog, its
promotions, every customer's consent, profile and history are as they were then. The model is
one trained as of T1 (single-threaded LightFM, so the figures repeat exactly) or a saved
version, refused when it was trained on anything after T1. Every customer known at T1 is served
as the offline path serves them (`recommending.Recommender`, the same rule stage and policy as
the API, promotions active at T1 on the chosen channel); each list passes the rule audit, and
the lists of customers who bought something new in the window are scored on it (the split is
`evaluation.hold_out`'s: purchases kept, products new to the customer, the T1 catalog).
Customers forgotten since are left out altogether; nothing here is stored."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

from audit.time_travel import BASES, RECORDED, event_instant
from domain.stock import Stock
from recommender import artefacts
from recommender.baselines import popularity
from recommender.customer_signals import CustomerFold, attributed, customer_events
from recommender.evaluation import hold_out
from recommender.hybrid import HybridModel, fit
from recommender.inventory_signals import InventoryFold, inventory_events
from recommender.lightfm_core import TrainingConfig
from recommender.ranking_policies import STANDARD, RankingPolicy, policy
from recommender.recommending import Recommender
from recommender.rule_audit import RuleAudit
from recommender.rule_stage import ListKind, Recommendation
from recommender.rules import RuleBook, Situation
from recommender.signals import PURCHASE, Interaction, LogSignals

K = 10
SERVING = "serving"
Money = dict[str, Decimal]  # currency -> amount
BEFORE = timedelta(microseconds=1)
# One thread: LightFM's parallel SGD (Hogwild) would give different figures on each run.
REPLAY_TRAINING = TrainingConfig(threads=1)


class ReplayRefusedError(ValueError):
    """The window, the model or the policy cannot be replayed; the message says why."""


@dataclass
class ReplayedLog:
    """The ledger as of T1 (`signals`, with the log positions read), and what was bought in
    the window after it, with the revenue per customer and product."""

    signals: LogSignals
    outcome: LogSignals  # the T1 state, followed by the window's interactions
    revenue: dict[tuple[str, str], Money]  # (customer, product) -> revenue of the window
    inventory_position: int
    customers_position: int
    forgotten: frozenset[str]


@dataclass
class ListScore:
    """How one kind of list did: hits among the top K on purchases in the window."""

    customers: int = 0
    hits: int = 0
    hit_customers: int = 0
    precision_sum: float = 0.0
    recall_sum: float = 0.0
    revenue: Money = field(default_factory=dict)

    def add(self, hits: int, bought: int, revenue: Money) -> None:
        self.customers += 1
        self.hits += hits
        self.hit_customers += hits > 0
        self.precision_sum += hits / K
        self.recall_sum += hits / bought
        _add(self.revenue, revenue)

    def as_dict(self) -> dict[str, Any]:
        n = self.customers or 1
        return {
            "customers": self.customers,
            f"precision_at_{K}": round(self.precision_sum / n, 4),
            f"recall_at_{K}": round(self.recall_sum / n, 4),
            "hit_rate": round(self.hit_customers / n, 4),
            "hits": self.hits,
            "hit_revenue": {c: str(v) for c, v in sorted(self.revenue.items())},
        }


@dataclass
class PolicyScore:
    name: str
    by_kind: dict[str, ListScore] = field(default_factory=lambda: defaultdict(ListScore))
    audit: RuleAudit = field(default_factory=RuleAudit)
    lists: int = 0

    def as_dict(self) -> dict[str, Any]:
        overall = ListScore()
        for score in self.by_kind.values():
            overall.customers += score.customers
            overall.hits += score.hits
            overall.hit_customers += score.hit_customers
            overall.precision_sum += score.precision_sum
            overall.recall_sum += score.recall_sum
            _add(overall.revenue, score.revenue)
        return {
            "policy": self.name,
            "lists_served": self.lists,
            **overall.as_dict(),
            "by_kind": {k.value: self.by_kind[k.value].as_dict() for k in ListKind},
            "rule_violations": self.audit.broken.total(),
            "rule_violations_by_kind": {k.value: self.audit.broken[k.value] for k in ListKind},
        }


@dataclass(frozen=True)
class ReplayReport:
    since: datetime
    until: datetime
    basis: str
    channel: str | None
    model: str  # the version, or "trained as of T1"
    model_trained_until: datetime
    customers_at_since: int
    scored_customers: int
    candidate: PolicyScore
    baseline: PolicyScore

    @property
    def rule_violations(self) -> int:
        return self.candidate.audit.broken.total() + self.baseline.audit.broken.total()

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "basis": self.basis,
            "channel": self.channel,
            "model": self.model,
            "model_trained_until": self.model_trained_until.isoformat(),
            "customers_at_since": self.customers_at_since,
            "scored_customers": self.scored_customers,
            "candidate": self.candidate.as_dict(),
            "baseline": self.baseline.as_dict(),
        }


def replay_log(
    inventory: Application[UUID],
    customers: Application[Any],
    since: datetime,
    until: datetime,
    basis: str = RECORDED,
) -> ReplayedLog:
    """Fold both logs as of `since`, and the window [since, until) beside."""
    if basis not in BASES:
        raise ReplayRefusedError(f"basis must be one of {', '.join(BASES)}, got {basis!r}")
    if since.tzinfo is None or until.tzinfo is None:
        raise ReplayRefusedError("--since and --until need a timezone, e.g. 2026-09-01T00:00Z")
    if until <= since:
        raise ReplayRefusedError(
            f"the window must end after it starts: since {since.isoformat()}, "
            f"until {until.isoformat()}"
        )

    def instant(event: Any) -> datetime:
        return event_instant(event, basis)

    before, window, revenue, inventory_position = _inventory(inventory, since, until, instant)
    people, people_now, customers_position = _customers(
        customers, since, instant, before.sku_products
    )
    forgotten = frozenset(c for c, f in people_now.customers.items() if f.forgotten)
    kept = {c: f for c, f in people.customers.items() if c not in forgotten}
    known = [
        i
        for i in attributed([*before.interactions, *people.interactions], people)
        if i.customer_id not in forgotten
    ]
    signals = LogSignals(
        products=before.product_facts(),
        customers=kept,
        interactions=known,
        sku_products=dict(before.sku_products),
        position=inventory_position,
    )
    later = [i for i in attributed(window, people) if i.customer_id in kept]
    # Measured for everyone served at T1: a customer without consent counts against the list
    # they were served (popular), as uptake counts them; the lists still use their real facts.
    # What was known at T1 is dated before it, the window in it (`hold_out` cuts on `at`).
    everyone = {c: replace(f, personalisation=True) for c, f in kept.items()}
    earlier = [replace(i, at=min(i.at, since - BEFORE)) for i in known]
    outcome = replace(signals, customers=everyone, interactions=[*earlier, *later])
    money: dict[tuple[str, str], Money] = defaultdict(dict)
    for (customer_id, code), amount in revenue.items():
        if people.survivor(customer_id) in kept:
            _add(money[(people.survivor(customer_id), code)], amount)
    return ReplayedLog(
        signals, outcome, dict(money), inventory_position, customers_position, forgotten
    )


def _customers(
    ledger: Application[Any],
    since: datetime,
    instant: Callable[[Any], datetime],
    sku_products: dict[str, str],
) -> tuple[CustomerFold, CustomerFold, int]:
    """The customer fold as of `since` (and as of now, to know who was forgotten since)."""
    then, now = CustomerFold(), CustomerFold()
    position = 0
    for number, event in customer_events(ledger, 1):
        now.take(event, sku_products)
        if instant(event) < since:
            then.take(event, sku_products)
            position = max(position, number)
    return then, now, position


def _inventory(
    ledger: Application[UUID],
    since: datetime,
    until: datetime,
    instant: Callable[[Any], datetime],
) -> tuple[InventoryFold, list[Interaction], dict[tuple[str, str], Money], int]:
    """The inventory fold as of `since`; the purchases and returns of the window with the
    revenue of its sales. A fold of everything up to `until` names the window's customers
    (a sale of a reservation made before the window is its customer's)."""
    before, through = InventoryFold(), InventoryFold()
    revenue: dict[tuple[str, str], Money] = defaultdict(dict)
    window: list[Interaction] = []
    position = 0
    for number, event in inventory_events(ledger, 1):
        at = instant(event)
        if at >= until:
            continue
        seen = len(through.interactions)
        through.take(event)
        if at < since:
            before.take(event)
            position = max(position, number)
            continue
        for interaction in through.interactions[seen:]:
            window.append(replace(interaction, at=at))  # in the window on the basis chosen
            if isinstance(event, Stock.Sold) and interaction.kind == PURCHASE:
                amount = Decimal(event.unit_price) * int(interaction.value)
                key = (interaction.customer_id, interaction.product_code)
                _add(revenue[key], {event.currency: amount})
    return before, window, dict(revenue), position


def candidate_model(
    log: ReplayedLog, since: datetime, root: Path, version: str | None
) -> tuple[str, HybridModel]:
    """The saved version named (`serving`: the latest), refused when trained on data after
    `since`; or a model trained as of `since` on the replayed state."""
    if version is None:
        if not log.signals.interactions:
            raise ReplayRefusedError(
                f"nothing was bought before {since.isoformat()}: no model can be trained as of "
                "then; choose a later --since"
            )
        return "trained as of T1", fit(log.signals, since, REPLAY_TRAINING)
    found = artefacts.versions(root)
    if version == SERVING:
        if not found:
            raise ReplayRefusedError(f"no saved model under {root}; run glow recommend train")
        directory = found[-1]
    else:
        directory = root / version
        if directory not in found:
            names = ", ".join(p.name for p in found) or "none"
            raise ReplayRefusedError(f"no model {version!r} under {root}; saved: {names}")
    model, meta = artefacts.load(directory)
    _require_before(directory.name, model, meta, log, since)
    return directory.name, model


def _require_before(
    name: str, model: HybridModel, meta: dict[str, Any], log: ReplayedLog, since: datetime
) -> None:
    trained = model.trained_until
    customers_position = int(meta.get("customers_position") or 0)
    why = None
    if trained > since:
        why = f"it was trained at {trained.isoformat()}"
    elif model.position > log.inventory_position:
        why = (
            f"it read the inventory log to position {model.position}, beyond "
            f"{log.inventory_position}, the last event before T1"
        )
    elif customers_position > log.customers_position:
        why = (
            f"it read the customer log to position {customers_position}, beyond "
            f"{log.customers_position}, the last event before T1"
        )
    if why is not None:
        raise ReplayRefusedError(
            f"model {name} was trained on data after T1 ({since.isoformat()}): {why}; a "
            "replay must not score a model on what it has seen. Choose a version trained "
            "before T1, or omit --model to train one as of T1"
        )


def replay_evaluation(
    log: ReplayedLog,
    since: datetime,
    until: datetime,
    model_name: str,
    model: HybridModel,
    candidate: RankingPolicy = STANDARD,
    baseline: RankingPolicy | None = None,
    channel: str | None = None,
    basis: str = RECORDED,
) -> ReplayReport:
    """Serve every customer known at T1 under the candidate and the baseline policy, audit
    every list, and score the lists of those who bought something new in the window."""
    signals = log.signals
    if not signals.customers:
        raise ReplayRefusedError(
            f"no customer was known before {since.isoformat()} (by {basis} time): nothing to "
            "serve; choose a later --since"
        )
    other = baseline or default_baseline(candidate)
    split = hold_out(log.outcome, since)
    codes = sorted(log.outcome.products)
    bought = {
        user: {codes[j] for j in split.test[row].indices}
        for row, user in enumerate(split.test_users)
    }
    recommender = Recommender(RuleBook(signals.products), popularity(signals), model)
    history = _history(signals, model)
    scores = [PolicyScore(candidate.name), PolicyScore(other.name)]
    for customer_id in sorted(signals.customers):
        facts = signals.customers[customer_id]
        situation = history.get(customer_id, Situation()) if facts.may_personalise else Situation()
        for score, ranking in zip(scores, (candidate, other), strict=True):
            served = recommender.recommend(facts, situation, K, ranking, since, channel)
            _audit(score, served, signals, situation)
            if customer_id in bought:
                _score(score, served, bought[customer_id], log.revenue, customer_id)
    return ReplayReport(
        since,
        until,
        basis,
        channel,
        model_name,
        model.trained_until,
        len(signals.customers),
        len(bought),
        scores[0],
        scores[1],
    )


def default_baseline(candidate: RankingPolicy) -> RankingPolicy:
    """The serving policy beside a candidate policy; beside the serving policy itself, the
    non-personal one (what the model must beat)."""
    return policy("popular-for-skin-type") if candidate.name == STANDARD.name else STANDARD


def _history(signals: LogSignals, model: HybridModel) -> dict[str, Situation]:
    bought: dict[str, set[str]] = defaultdict(set)
    for i in signals.interactions:
        if i.kind == PURCHASE:
            bought[i.customer_id].add(i.product_code)
    returned: dict[str, set[str]] = defaultdict(set)
    for customer_id, code in model.negative:
        returned[customer_id].add(code)
    return {
        c: Situation(frozenset(bought.get(c, ())), frozenset(returned.get(c, ())))
        for c in signals.customers
    }


def _audit(
    score: PolicyScore, served: Recommendation, signals: LogSignals, situation: Situation
) -> None:
    score.lists += 1
    facts = signals.customers[served.customer_id]
    for suggestion in served.suggestions:
        product = signals.products[suggestion.product_code]
        score.audit.count(served.kind, suggestion, product, facts, situation)


def _score(
    score: PolicyScore,
    served: Recommendation,
    bought: set[str],
    revenue: dict[tuple[str, str], Money],
    customer_id: str,
) -> None:
    shown = [s.product_code for s in served.suggestions[:K]]
    hits = [code for code in shown if code in bought]
    money: Money = {}
    for code in hits:
        _add(money, revenue.get((customer_id, code), {}))
    score.by_kind[served.kind.value].add(len(hits), len(bought), money)


def _add(into: Money, more: Money) -> None:
    for currency, amount in more.items():
        into[currency] = into.get(currency, Decimal(0)) + amount
