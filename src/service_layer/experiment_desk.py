"""The experiments' desk: define, list, read, stop (a variant or the whole experiment), assign
customers, and report per variant. Definitions and assignments are events of the experiments
application (domain/experiment.py) on the ledger's own database; the figures come from
ClickHouse (projections/experiment_metrics.py) with the intervals of
recommender/experiment_statistics.py.

One experiment runs at a time (definitions whose periods overlap a not-stopped one are
refused), so a customer is in at most one: what they are shown is measured against one
control only."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError, RecordConflictError

from configuration.settings import Settings
from domain.experiment import (
    INDEX_ID,
    MODEL,
    POLICY,
    Assignment,
    Definition,
    Experiment,
    ExperimentDefinitionError,
    ExperimentIndex,
    ExperimentOverlapError,
    assignment_id,
    bucket,
    variant_for,
)
from domain.experiment_ledger import ExperimentLedger
from projections.experiment_metrics import VariantFigures, variant_figures
from recommender.challengers import UnknownModelVersionError, version_directory
from recommender.ranking_policies import POLICIES
from service_layer.customer_store import customer_store_env

ASSIGNMENTS_KEPT = 200_000
STATISTICS = (
    "95% intervals: Wilson for conversion and returns rate (Newcombe for their "
    "differences), t for revenue per exposed customer adjusted by CUPED with the revenue of "
    "the N days before the first exposure (Welch for its difference), the delta method for "
    "CTR (clicks per list shown)"
)


class UnknownExperimentError(LookupError):
    """No experiment has this id."""


class ExperimentReportUnavailableError(RuntimeError):
    """This process has no ClickHouse to compute an experiment's figures in."""


def open_experiment_ledger(settings: Settings) -> ExperimentLedger:
    """The experiments' event store beside the customer ledger's (PostgreSQL: the table
    `experiments_events`, migration 0017; SQLite: a file of its own, as the customers')."""
    env = customer_store_env(settings)
    env.pop("APPLICATION_RECORDER_TOPIC", None)  # eventsourcing's recorder: no command answers
    if env.get("SQLITE_DBNAME", ":memory:") != ":memory:":
        path = Path(env["SQLITE_DBNAME"])
        env["SQLITE_DBNAME"] = str(path.with_name(path.name.replace(".customers", ".experiments")))
    return ExperimentLedger(env=env)


@dataclass(frozen=True)
class VariantSpec:
    name: str
    weight: int
    model: str | None = None
    policy: str | None = None


class ExperimentDesk:
    def __init__(
        self,
        ledger: ExperimentLedger,
        model_root: Path,
        analytics: Any | None = None,
        refresh_seconds: float = 1.0,
    ) -> None:
        self.ledger = ledger
        self.model_root = model_root
        self.analytics = analytics  # a ClickHouse client, where this process has one
        self.refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self._running: tuple[float, Experiment | None] | None = None
        self._assigned: OrderedDict[UUID, str] = OrderedDict()

    # definitions ----------------------------------------------------------------------------

    def define(self, definition: Definition, by: str, now: datetime | None = None) -> Experiment:
        """Record a new experiment; refused (422) if a variant names an unknown model version
        or policy or the definition breaks a rule, (409) if its period overlaps another's."""
        now = now or datetime.now(UTC)
        definition.check(now)
        self._check_targets(definition)
        for _ in range(5):  # two definitions racing: the index's version decides
            index = self._index()
            for other in self._load_all(index):
                if other.overlaps(definition.starts_at, definition.ends_at) and other.status(
                    now
                ) in ("scheduled", "running"):
                    raise ExperimentOverlapError(
                        f"experiment {other.name!r} ({other.id}) runs from "
                        f"{other.starts_at.isoformat()} to {other.ends_at.isoformat()}; one "
                        "experiment runs at a time: choose another period or stop it first",
                        experiment_id=str(other.id),
                    )
            experiment = Experiment.define(definition, by, now)
            index.list_experiment(experiment.id)
            try:
                self.ledger.save(experiment, index)
            except (IntegrityError, RecordConflictError):
                continue
            self.refresh()
            return experiment
        raise ExperimentOverlapError("experiments are being defined concurrently; try again")

    def _check_targets(self, definition: Definition) -> None:
        problems = []
        for variant in definition.variants:
            if variant.kind == POLICY and variant.target not in POLICIES:
                known = ", ".join(sorted(POLICIES))
                problems.append(
                    f"variant {variant.name!r}: no ranking policy {variant.target!r}; "
                    f"expected one of {known}"
                )
            elif variant.kind == MODEL:
                try:
                    version_directory(self.model_root, variant.target)
                except UnknownModelVersionError as error:
                    problems.append(f"variant {variant.name!r}: {error}")
        if problems:
            raise ExperimentDefinitionError("; ".join(problems), problems=problems)

    def experiments(self) -> list[Experiment]:
        return self._load_all(self._index())

    def experiment(self, experiment_id: UUID) -> Experiment:
        try:
            found: object = self.ledger.repository.get(experiment_id)
        except AggregateNotFoundError:
            raise UnknownExperimentError(f"no experiment {experiment_id}") from None
        if not isinstance(found, Experiment):
            raise UnknownExperimentError(f"no experiment {experiment_id}")
        return found

    def stop(
        self,
        experiment_id: UUID,
        reason: str,
        by: str,
        variant: str | None = None,
        now: datetime | None = None,
    ) -> Experiment:
        """Stop one variant (its customers get the control from then on) or the experiment."""
        now = now or datetime.now(UTC)
        for _ in range(5):
            experiment = self.experiment(experiment_id)
            if variant is None:
                experiment.stop(reason, by, now)
            else:
                experiment.stop_variant(variant, reason, by, now)
            try:
                self.ledger.save(experiment)
            except (IntegrityError, RecordConflictError):
                continue  # stopped meanwhile by another process: decided again on fresh state
            self.refresh()
            return experiment
        raise ExperimentOverlapError("the experiment is being changed concurrently; try again")

    def _index(self) -> ExperimentIndex:
        try:
            found: object = self.ledger.repository.get(INDEX_ID)
        except AggregateNotFoundError:
            return ExperimentIndex.open()
        assert isinstance(found, ExperimentIndex)
        return found

    def _load_all(self, index: ExperimentIndex) -> list[Experiment]:
        return [self.experiment(i) for i in index.experiment_ids]

    # serving --------------------------------------------------------------------------------

    def running(self, now: datetime | None = None) -> Experiment | None:
        """The experiment running now, as read at most `refresh_seconds` ago."""
        now = now or datetime.now(UTC)
        with self._lock:
            cached = self._running
        if cached is not None and time.monotonic() - cached[0] < self.refresh_seconds:
            found = cached[1]
        else:
            found = next((e for e in self.experiments() if e.running(now)), None)
            with self._lock:
                self._running = (time.monotonic(), found)
        return found if found is not None and found.running(now) else None

    def refresh(self) -> None:
        with self._lock:
            self._running = None

    def assign(self, experiment: Experiment, customer_id: str, person: str) -> str:
        """The customer's variant: the one recorded, else the one their hash falls in,
        recorded now. Concurrent first requests record one assignment: the second finds the
        id taken and reads what the first recorded."""
        key = assignment_id(experiment.id, person)
        with self._lock:
            cached = self._assigned.get(key)
        if cached is not None:
            return cached
        variant = self._recorded(key)
        if variant is None:
            point = bucket(experiment.id, customer_id)
            variant = variant_for(experiment.variant_list, point).name
            try:
                self.ledger.save(Assignment.record(experiment.id, person, variant, point))
            except (IntegrityError, RecordConflictError):
                variant = self._recorded(key) or variant
        with self._lock:
            self._assigned[key] = variant
            while len(self._assigned) > ASSIGNMENTS_KEPT:
                self._assigned.popitem(last=False)
        return variant

    def _recorded(self, key: UUID) -> str | None:
        try:
            found: object = self.ledger.repository.get(key)
        except AggregateNotFoundError:
            return None
        assert isinstance(found, Assignment)
        return found.variant

    # figures --------------------------------------------------------------------------------

    def report(self, experiment_id: UUID, now: datetime | None = None) -> dict[str, Any]:
        """The experiment and its table: per variant the exposed customers, conversions, rates
        with intervals, the difference to the control, and the guardrails' status."""
        from recommender.experiment_statistics import Cuped, Guardrails, variant_report

        experiment = self.experiment(experiment_id)
        if self.analytics is None:
            raise ExperimentReportUnavailableError(
                "this process has no ClickHouse: set GLOW_ANALYTICS_URL (chdb:///path embedded, "
                "or http(s)://host:port) where the exposure rows are written"
            )
        figures = {
            f.variant: f
            for f in variant_figures(
                self.analytics, str(experiment.id), experiment.attribution_days
            )
        }
        rows = [figures.get(v.name) or _nobody(v.name) for v in experiment.variant_list]
        control = next(f for f in rows if f.variant == experiment.control)
        guardrails = Guardrails(experiment.returns_points, experiment.returns_min_orders)
        cuped = Cuped.of(rows)
        table = [variant_report(f, control, cuped, guardrails) for f in rows]
        for row in table:
            row["status"] = "stopped" if row["variant"] in experiment.stopped_variants else "active"
        return {
            **describe(experiment, now),
            "report": {
                "variants": table,
                "statistics": STATISTICS,
                "cuped_theta": round(cuped.theta, 6) if math.isfinite(cuped.theta) else None,
                "computed_at": (now or datetime.now(UTC)).isoformat(),
            },
        }


def _nobody(variant: str) -> VariantFigures:
    """A variant nobody was shown yet."""
    return VariantFigures(variant, 0, 0, 0.0, 0.0, 0, 0.0, 0.0, 0.0, 0, 0, 0, 0, *([0.0] * 5))


def describe(experiment: Experiment, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    variants = []
    for v in experiment.variant_list:
        stopped = experiment.stopped_variants.get(v.name)
        variants.append(
            {
                **v.as_dict(),
                "control": v.name == experiment.control,
                "status": "stopped" if stopped else "active",
                "stopped": stopped,
            }
        )
    return {
        "id": str(experiment.id),
        "name": experiment.name,
        "hypothesis": experiment.hypothesis,
        "status": experiment.status(now),
        "variants": variants,
        "control": experiment.control,
        "primary_metric": experiment.primary_metric,
        "attribution_days": experiment.attribution_days,
        "guardrails": {
            "rule_violations": 0,
            "returns_points": experiment.returns_points,
            "returns_min_orders": experiment.returns_min_orders,
        },
        "starts_at": experiment.starts_at.isoformat(),
        "ends_at": experiment.ends_at.isoformat(),
        "defined_by": experiment.defined_by,
        "stopped": experiment.stopped,
    }


def guard(desk: ExperimentDesk, now: datetime | None = None) -> list[dict[str, Any]]:
    """Evaluate the running experiment's guardrails and stop every variant (not the control)
    that breaches one, with its reason as an event. Returns what was stopped."""
    from recommender.experiment_statistics import breaches

    now = now or datetime.now(UTC)
    desk.refresh()  # a guard decides on what the store holds now
    experiment = desk.running(now)
    if experiment is None:
        return []
    report = desk.report(experiment.id, now)
    stopped = []
    for row in report["report"]["variants"]:
        name = row["variant"]
        if name == experiment.control or name in experiment.stopped_variants:
            continue
        reasons = breaches(row)
        if reasons:
            reason = "guardrail: " + "; ".join(reasons)
            desk.stop(experiment.id, reason, "glow experiments guard", name, now)
            stopped.append({"experiment": str(experiment.id), "variant": name, "reason": reason})
    return stopped
