"""A/B experiments on the recommendations: what is tested against what, for how long, judged how,
and who was assigned to which variant.

`Experiment` is the definition (variants with traffic weights, the control, the primary metric,
the attribution window, the guardrails, the period) and what happened to it since: a variant
stopped by a guardrail or by hand, the whole experiment stopped. `Assignment` is one customer's
variant in one experiment, recorded once: its id is made of the experiment and the customer's
pseudonym, so a second first request for the same customer finds the id taken (the store's
unique key) instead of recording a second assignment. The pseudonym is keyed by the customer's
own data key, so once they are forgotten (the key shredded) nobody can find their assignment.
`ExperimentIndex` lists the experiments (one aggregate, so two definitions racing for the same
period conflict on its version instead of both starting).

Assignment is deterministic: SHA-256 of the experiment and the customer id, read as a number in
[0, 1), falls in a variant's share of the weights (as GrowthBook buckets a hash).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import ConflictError, InvalidCommandError

EXPERIMENTS_NAMESPACE = UUID("0b6c3f4e-7a51-4f0e-9d3e-5e2a8c1d7b40")
INDEX_ID = uuid5(EXPERIMENTS_NAMESPACE, "experiment index")
MODEL, POLICY = "model", "policy"
VARIANT_KINDS = (MODEL, POLICY)
PRIMARY_METRICS = ("conversion", "revenue_per_exposed", "ctr")
NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
VERSION = re.compile(r"v[0-9]{4}")
MAX_VARIANTS = 6
MAX_ATTRIBUTION_DAYS = 90
MAX_PERIOD = timedelta(days=366)
BUCKET_SCALE = 2**64


class ExperimentDefinitionError(InvalidCommandError):
    """A definition breaks a rule (weights that do not sum to 100, no control...)."""

    code = "invalid-experiment"


class ExperimentOverlapError(ConflictError):
    """Another experiment runs in the same period: a customer is in one experiment at a time."""

    code = "experiment-overlaps"


class ExperimentStateError(ConflictError):
    """The experiment (or variant) cannot be stopped: it already is, or it has ended."""

    code = "experiment-not-running"


@dataclass(frozen=True)
class Variant:
    name: str
    weight: int  # percent of the experiment's traffic
    kind: str  # "model": a challenger model version; "policy": a ranking policy
    target: str  # the version (vNNNN) or the policy's name

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "weight": self.weight, "kind": self.kind, "target": self.target}

    @classmethod
    def of(cls, raw: dict[str, Any]) -> Variant:
        return cls(str(raw["name"]), int(raw["weight"]), str(raw["kind"]), str(raw["target"]))


@dataclass(frozen=True)
class Definition:
    """What an experiment is, checked before it is recorded."""

    name: str
    hypothesis: str
    variants: tuple[Variant, ...]
    control: str
    primary_metric: str
    attribution_days: int
    returns_points: float  # guardrail: a variant's returns rate at most this many points above
    returns_min_orders: int  # ... judged once the variant and the control have this many orders
    starts_at: datetime
    ends_at: datetime

    def check(self, now: datetime) -> None:
        problems = _problems(self, now)
        if problems:
            raise ExperimentDefinitionError("; ".join(problems), problems=problems)


def _problems(d: Definition, now: datetime) -> list[str]:
    problems = []
    if not d.name.strip() or len(d.name) > 100:
        problems.append("name: expected 1 to 100 characters")
    if not d.hypothesis.strip() or len(d.hypothesis) > 2000:
        problems.append("hypothesis: expected 1 to 2000 characters")
    names = [v.name for v in d.variants]
    if not 2 <= len(d.variants) <= MAX_VARIANTS:
        problems.append(f"variants: expected 2 to {MAX_VARIANTS}, got {len(d.variants)}")
    if len(set(names)) != len(names):
        problems.append(f"variants: names must differ, got {names}")
    for v in d.variants:
        if not NAME.fullmatch(v.name):
            problems.append(
                f"variant {v.name!r}: expected a name of lowercase letters, digits, - or _ "
                "(at most 40)"
            )
        if not 1 <= v.weight <= 100:
            problems.append(f"variant {v.name!r}: weight {v.weight} out of range 1 to 100")
        if v.kind not in VARIANT_KINDS:
            problems.append(f"variant {v.name!r}: kind {v.kind!r}; expected model or policy")
        elif v.kind == MODEL and not VERSION.fullmatch(v.target):
            problems.append(f"variant {v.name!r}: model {v.target!r}; expected vNNNN")
    total = sum(v.weight for v in d.variants)
    if total != 100:
        problems.append(f"variants: weights sum to {total}; expected 100")
    if d.control not in names:
        problems.append(f"control: {d.control!r} is not one of the variants {names}")
    if d.primary_metric not in PRIMARY_METRICS:
        problems.append(
            f"primary_metric: {d.primary_metric!r}; expected one of {', '.join(PRIMARY_METRICS)}"
        )
    if not 1 <= d.attribution_days <= MAX_ATTRIBUTION_DAYS:
        problems.append(f"attribution_days: expected 1 to {MAX_ATTRIBUTION_DAYS}")
    if not 0 <= d.returns_points <= 100:
        problems.append("guardrails.returns_points: expected 0 to 100 percentage points")
    if not 1 <= d.returns_min_orders <= 100_000:
        problems.append("guardrails.returns_min_orders: expected 1 to 100000 orders")
    if d.starts_at.tzinfo is None or d.ends_at.tzinfo is None:
        problems.append("starts_at, ends_at: expected instants with a timezone")
    elif d.ends_at <= d.starts_at:
        problems.append("ends_at: expected after starts_at")
    elif d.ends_at <= now:
        problems.append("ends_at: expected in the future")
    elif d.ends_at - d.starts_at > MAX_PERIOD:
        problems.append("ends_at: an experiment lasts at most 366 days")
    return problems


class Experiment(Aggregate):
    @event("Defined")
    def __init__(
        self,
        name: str,
        hypothesis: str,
        variants: list[dict[str, Any]],
        control: str,
        primary_metric: str,
        attribution_days: int,
        returns_points: float,
        returns_min_orders: int,
        starts_at: datetime,
        ends_at: datetime,
        defined_by: str,
    ) -> None:
        self.name = name
        self.hypothesis = hypothesis
        self.variants = variants
        self.control = control
        self.primary_metric = primary_metric
        self.attribution_days = attribution_days
        self.returns_points = returns_points
        self.returns_min_orders = returns_min_orders
        self.starts_at = starts_at
        self.ends_at = ends_at
        self.defined_by = defined_by
        self.stopped_variants: dict[str, dict[str, Any]] = {}
        self.stopped: dict[str, Any] | None = None

    @classmethod
    def define(cls, definition: Definition, by: str, now: datetime) -> Experiment:
        definition.check(now)
        return cls(
            definition.name,
            definition.hypothesis,
            [v.as_dict() for v in definition.variants],
            definition.control,
            definition.primary_metric,
            definition.attribution_days,
            definition.returns_points,
            definition.returns_min_orders,
            definition.starts_at,
            definition.ends_at,
            by,
        )

    @property
    def variant_list(self) -> list[Variant]:
        return [Variant.of(v) for v in self.variants]

    def running(self, now: datetime) -> bool:
        return self.stopped is None and self.starts_at <= now < self.ends_at

    def status(self, now: datetime) -> str:
        if self.stopped is not None:
            return "stopped"
        if now < self.starts_at:
            return "scheduled"
        return "running" if now < self.ends_at else "ended"

    def serves(self, variant: str) -> str:
        """The variant a customer assigned to `variant` is served now: the control once theirs
        was stopped."""
        return self.control if variant in self.stopped_variants else variant

    def stop_variant(self, variant: str, reason: str, by: str, now: datetime) -> None:
        names = [v["name"] for v in self.variants]
        if variant not in names:
            raise ExperimentDefinitionError(
                f"no variant {variant!r} in experiment {self.name!r}; expected one of {names}"
            )
        if variant == self.control:
            raise ExperimentStateError(
                f"{variant!r} is the control; stop the experiment instead (its customers are "
                "served the control from then on anyway)"
            )
        if not self.running(now):
            raise ExperimentStateError(f"experiment {self.name!r} is {self.status(now)}")
        if variant in self.stopped_variants:
            raise ExperimentStateError(f"variant {variant!r} was already stopped")
        self._variant_stopped(variant, reason, by, now)

    @event("VariantStopped")
    def _variant_stopped(self, variant: str, reason: str, by: str, at: datetime) -> None:
        self.stopped_variants[variant] = {"reason": reason, "by": by, "at": at.isoformat()}

    def stop(self, reason: str, by: str, now: datetime) -> None:
        if self.stopped is not None or now >= self.ends_at:
            raise ExperimentStateError(f"experiment {self.name!r} is {self.status(now)}")
        self._stopped(reason, by, now)

    @event("Stopped")
    def _stopped(self, reason: str, by: str, at: datetime) -> None:
        self.stopped = {"reason": reason, "by": by, "at": at.isoformat()}

    def overlaps(self, starts_at: datetime, ends_at: datetime) -> bool:
        if self.stopped is not None:
            return False
        return starts_at < self.ends_at and self.starts_at < ends_at


class ExperimentIndex(Aggregate):
    """Every experiment's id, in the order they were defined."""

    class Opened(Aggregate.Created):
        pass

    def __init__(self) -> None:
        self.experiment_ids: list[UUID] = []

    @classmethod
    def open(cls) -> ExperimentIndex:
        return cls._create(cls.Opened, id=INDEX_ID)

    @event("Listed")
    def list_experiment(self, experiment_id: UUID) -> None:
        self.experiment_ids.append(experiment_id)


class Assignment(Aggregate):
    """A customer's variant in an experiment, recorded once (the id says whose, keyed)."""

    class Assigned(Aggregate.Created):
        experiment_id: UUID
        variant: str
        bucket: float

    def __init__(self, experiment_id: UUID, variant: str, bucket: float) -> None:
        self.experiment_id = experiment_id
        self.variant = variant
        self.bucket = bucket

    @classmethod
    def record(cls, experiment_id: UUID, person: str, variant: str, bucket: float) -> Assignment:
        return cls._create(
            cls.Assigned,
            id=assignment_id(experiment_id, person),
            experiment_id=experiment_id,
            variant=variant,
            bucket=bucket,
        )


def assignment_id(experiment_id: UUID, person: str) -> UUID:
    return uuid5(EXPERIMENTS_NAMESPACE, f"assignment:{experiment_id}:{person}")


def bucket(experiment_id: UUID, customer_id: str) -> float:
    """Where a customer falls in [0, 1) for one experiment: the same in every process, at
    every restart, and independent between experiments."""
    digest = hashlib.sha256(f"{experiment_id}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / BUCKET_SCALE


def variant_for(variants: list[Variant], point: float) -> Variant:
    """The variant whose share of the weights (in order, out of 100) holds `point`."""
    edge = 0.0
    for variant in variants:
        edge += variant.weight / 100
        if point < edge:
            return variant
    return variants[-1]  # the last edge is 1.0, up to rounding
