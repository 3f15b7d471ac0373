"""Replenishment on the ledger: the policy of a SKU at a location, the suggestions a planning
run made (to buy, or to move stock between locations) and each location's book of them.

A `ReplenishmentPolicy` is set by the back office (an event per change); where none is set the
planner uses the settings' defaults. A `Suggestion` is made by `glow replenish` with its
inputs and reasons, so the audit history replays it as of the day it was made; a later run
supersedes it, or someone accepts it (once: accepting again answers the same). The
`ReplenishmentBook` of a location lists its open suggestions and records each run's alerts
(low stock, expiry risk), which the webhooks deliver.

open -> accepted | superseded
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from functools import lru_cache
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.errors import InvalidCommandError, NotPermittedError, SuggestionClosedError
from domain.ids import GLOWLEDGER_NAMESPACE
from domain.trace import Trace

PURCHASE, TRANSFER = "purchase", "transfer"
OPEN, ACCEPTED, SUPERSEDED = "open", "accepted", "superseded"
LOW_STOCK, EXPIRY_RISK = "low_stock", "expiry_risk"


@lru_cache(maxsize=100_000)
def policy_id(sku: str, location: str) -> UUID:
    return uuid5(GLOWLEDGER_NAMESPACE, f"replenishment-policy:{sku}@{location}")


@lru_cache(maxsize=10_000)
def book_id(location: str) -> UUID:
    return uuid5(GLOWLEDGER_NAMESPACE, f"replenishment-book:{location}")


def suggestion_id(run_id: str, kind: str, sku: str, location: str, source: str | None) -> UUID:
    """One suggestion per run, kind, SKU and destination (and source of a transfer)."""
    return uuid5(GLOWLEDGER_NAMESPACE, f"suggestion:{run_id}:{kind}:{sku}:{source}>{location}")


@dataclass(frozen=True)
class PolicyTerms:
    """How a SKU is replenished at a location. `min_units` floors the reorder point and
    `max_units` caps the order-up-to level (None: from the forecast alone); a purchase is a
    multiple of `order_multiple` and at least `minimum_order`; `shelf_life_days` None: learnt
    from the batches received (else the setting)."""

    service_level: float
    lead_time_days: int
    review_period_days: int
    order_multiple: int = 1
    minimum_order: int = 0
    min_units: int | None = None
    max_units: int | None = None
    shelf_life_days: int | None = None

    def __post_init__(self) -> None:
        problems = terms_problems(self)
        if problems:
            raise InvalidCommandError(
                "a replenishment policy " + "; ".join(problems), problems=problems
            )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PolicyTerms:
        return cls(**data)


def terms_problems(t: PolicyTerms) -> list[str]:
    """What is wrong with these terms, each saying what was expected."""
    found = []
    if not 0.5 <= t.service_level < 1:
        found.append(f"needs a service level in [0.5, 1), got {t.service_level}")
    if not 0 <= t.lead_time_days <= 365:
        found.append(f"needs a lead time of 0 to 365 days, got {t.lead_time_days}")
    if not 1 <= t.review_period_days <= 365:
        found.append(f"needs a review period of 1 to 365 days, got {t.review_period_days}")
    if not 1 <= t.order_multiple <= 100_000:
        found.append(f"needs an order multiple of 1 to 100000, got {t.order_multiple}")
    if not 0 <= t.minimum_order <= 1_000_000:
        found.append(f"needs a minimum order of 0 to 1000000, got {t.minimum_order}")
    for name, value in (("min_units", t.min_units), ("max_units", t.max_units)):
        if value is not None and not 0 <= value <= 10_000_000:
            found.append(f"needs {name} of 0 to 10000000 when given, got {value}")
    if t.min_units is not None and t.max_units is not None and t.min_units > t.max_units:
        found.append(f"needs min_units ({t.min_units}) at most max_units ({t.max_units})")
    if t.shelf_life_days is not None and not 1 <= t.shelf_life_days <= 3650:
        found.append(f"needs a shelf life of 1 to 3650 days when given, got {t.shelf_life_days}")
    return found


def _policy(aggregate: Aggregate) -> ReplenishmentPolicy:
    assert isinstance(aggregate, ReplenishmentPolicy)
    return aggregate


class ReplenishmentPolicy(Aggregate):
    class Opened(Aggregate.Created):
        sku: str
        location: str

    class Set(Aggregate.Event):
        terms: dict[str, Any]
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            _policy(aggregate).terms = PolicyTerms.from_dict(self.terms)

    def __init__(self, sku: str, location: str) -> None:
        self.sku = sku
        self.location = location
        self.terms: PolicyTerms | None = None

    @classmethod
    def create_id(cls, sku: str, location: str, **_: Any) -> UUID:
        return policy_id(sku, location)

    @classmethod
    def open(cls, sku: str, location: str) -> ReplenishmentPolicy:
        return cls._create(cls.Opened, sku=sku, location=location)

    def set(self, terms: PolicyTerms, trace: Trace) -> bool:
        """False when the terms are the ones already set (nothing recorded)."""
        if terms == self.terms:
            return False
        self.trigger_event(self.Set, terms=terms.as_dict(), trace=trace)
        return True

    def as_dict(self) -> dict[str, Any]:
        terms = self.terms.as_dict() if self.terms else None
        return {"sku": self.sku, "location": self.location, "terms": terms, "version": self.version}


def _suggestion(aggregate: Aggregate) -> Suggestion:
    assert isinstance(aggregate, Suggestion)
    return aggregate


class Suggestion(Aggregate):
    """To buy `quantity` of `sku` for `location` (arriving by `arrive_by`), or to move it there
    from `from_location`; `inputs` are the figures it was computed from."""

    class Made(Aggregate.Created):
        run_id: str
        kind: str
        sku: str
        location: str
        from_location: str | None
        quantity: int
        arrive_by: date
        reasons: list[str]
        inputs: dict[str, Any]
        trace: Trace

    class Superseded(Aggregate.Event):
        by_run: str
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            found = _suggestion(aggregate)
            found.status, found.superseded_by = SUPERSEDED, self.by_run

    class Accepted(Aggregate.Event):
        """Its expected shipment (`shipment_ref`) or transfer in transit (`transfer_id`)."""

        shipment_ref: str | None
        transfer_id: UUID | None
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            found = _suggestion(aggregate)
            found.status = ACCEPTED
            found.shipment_ref, found.transfer_id = self.shipment_ref, self.transfer_id
            found.accepted_at = self.trace.occurred_at.isoformat()

    def __init__(
        self,
        run_id: str,
        kind: str,
        sku: str,
        location: str,
        from_location: str | None,
        quantity: int,
        arrive_by: date,
        reasons: list[str],
        inputs: dict[str, Any],
        trace: Trace,
    ) -> None:
        self.run_id = run_id
        self.kind = kind
        self.sku = sku
        self.location = location
        self.from_location = from_location
        self.quantity = quantity
        self.arrive_by = arrive_by
        self.reasons = list(reasons)
        self.inputs = dict(inputs)
        self.made_at = trace.occurred_at.isoformat()
        self.status = OPEN
        self.superseded_by: str | None = None
        self.shipment_ref: str | None = None
        self.transfer_id: UUID | None = None
        self.accepted_at: str | None = None

    @classmethod
    def make(cls, draft: SuggestionDraft, run_id: str, trace: Trace) -> Suggestion:
        return cls._create(
            cls.Made,
            id=suggestion_id(run_id, draft.kind, draft.sku, draft.location, draft.from_location),
            run_id=run_id,
            kind=draft.kind,
            sku=draft.sku,
            location=draft.location,
            from_location=draft.from_location,
            quantity=draft.quantity,
            arrive_by=draft.arrive_by,
            reasons=list(draft.reasons),
            inputs=dict(draft.inputs),
            trace=trace,
        )

    def supersede(self, by_run: str, trace: Trace) -> None:
        if self.status == OPEN:
            self.trigger_event(self.Superseded, by_run=by_run, trace=trace)

    def require_acceptable(self, staff_of: str | None) -> None:
        """`staff_of`: the caller's location when only its staff may act (None: anywhere)."""
        places = [p for p in (self.location, self.from_location) if p is not None]
        if staff_of is not None and staff_of not in places:
            raise NotPermittedError(
                f"suggestion {self.id} concerns {', '.join(places)}; staff of "
                f"{staff_of} may accept only suggestions for their own location",
                suggestion_id=str(self.id),
            )
        if self.status == SUPERSEDED:
            raise SuggestionClosedError(
                f"suggestion {self.id} was superseded by run {self.superseded_by}: a later "
                "plan replaced it; accept one of the open suggestions "
                f"(GET /replenishment/suggestions?location={self.location})",
                suggestion_id=str(self.id),
                superseded_by=self.superseded_by,
            )

    def accept(self, shipment_ref: str | None, transfer_id: UUID | None, trace: Trace) -> None:
        self.trigger_event(
            self.Accepted, shipment_ref=shipment_ref, transfer_id=transfer_id, trace=trace
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "suggestion_id": str(self.id),
            "run_id": self.run_id,
            "kind": self.kind,
            "status": self.status,
            "sku": self.sku,
            "location": self.location,
            "from_location": self.from_location,
            "quantity": self.quantity,
            "arrive_by": self.arrive_by.isoformat(),
            "reasons": self.reasons,
            "inputs": self.inputs,
            "made_at": self.made_at,
            "superseded_by": self.superseded_by,
            "shipment_ref": self.shipment_ref,
            "transfer_id": None if self.transfer_id is None else str(self.transfer_id),
            "accepted_at": self.accepted_at,
        }


@dataclass(frozen=True)
class SuggestionDraft:
    """A suggestion as planning computed it, before it is recorded."""

    kind: str
    sku: str
    location: str
    from_location: str | None
    quantity: int
    arrive_by: date
    reasons: tuple[str, ...]
    inputs: dict[str, Any]


def _book(aggregate: Aggregate) -> ReplenishmentBook:
    assert isinstance(aggregate, ReplenishmentBook)
    return aggregate


class ReplenishmentBook(Aggregate):
    """A location's open suggestions and the runs that planned for it."""

    class Opened(Aggregate.Created):
        location: str

    class PlanRecorded(Aggregate.Event):
        """A run's suggestions for this location (those it made, those it superseded) and
        its alerts: each alert a dict with its `kind` (low_stock, expiry_risk), SKU, figures
        and words."""

        run_id: str
        made: list[UUID]
        superseded: list[UUID]
        alerts: list[dict[str, Any]]
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            book = _book(aggregate)
            gone = {s.hex for s in self.superseded}
            kept = [s for s in book.open if s not in gone]
            book.open = (*kept, *(s.hex for s in self.made))
            book.last_run = self.run_id

    class SuggestionAccepted(Aggregate.Event):
        suggestion_id: UUID
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            book = _book(aggregate)
            book.open = tuple(s for s in book.open if s != self.suggestion_id.hex)

    def __init__(self, location: str) -> None:
        self.location = location
        self.open: tuple[str, ...] = ()  # suggestion ids (hex), in the order made
        self.last_run: str | None = None

    @classmethod
    def create_id(cls, location: str, **_: Any) -> UUID:
        return book_id(location)

    @classmethod
    def open_for(cls, location: str) -> ReplenishmentBook:
        return cls._create(cls.Opened, location=location)

    def record_plan(
        self,
        run_id: str,
        made: list[UUID],
        superseded: list[UUID],
        alerts: list[dict[str, Any]],
        trace: Trace,
    ) -> None:
        self.trigger_event(
            self.PlanRecorded,
            run_id=run_id,
            made=made,
            superseded=superseded,
            alerts=alerts,
            trace=trace,
        )

    def accepted(self, suggestion: UUID, trace: Trace) -> None:
        if suggestion.hex in self.open:
            self.trigger_event(self.SuggestionAccepted, suggestion_id=suggestion, trace=trace)

    def open_ids(self) -> list[UUID]:
        return [UUID(s) for s in self.open]
