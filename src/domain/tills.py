"""A till (a POS register) belongs to one store and keeps a journal of what it sold, took back
and voided, numbered by its own sequence. The ledger records each line once, in order: the
till's `next_seq` is the high-water mark, a line after a gap is refused, a line already
recorded is answered again from its idempotency answer (service_layer, not here).

A location declares how a late till sale that makes its stock short is reconciled
(`ReconciliationPolicy`): the steps tried in order on the holds it conflicts with, the
lowest-priority hold first; what no step frees is recorded as a shortage."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.errors import InvalidCommandError, TillSequenceError
from domain.ids import GLOWLEDGER_NAMESPACE
from domain.trace import Trace

RESOURCE, CANCEL_HOLD, SHORTAGE = "resource", "cancel_hold", "shortage"
STEPS = (RESOURCE, CANCEL_HOLD, SHORTAGE)
DEFAULT_STEPS = (SHORTAGE,)  # until a location declares more, nobody's hold is touched
MOST_CONFLICTS_KEPT = 1_000  # per journal in the till's state; every one is also an event


def till_id(till: str) -> UUID:
    return uuid5(GLOWLEDGER_NAMESPACE, f"till:{till}")


def policy_id(location: str) -> UUID:
    return uuid5(GLOWLEDGER_NAMESPACE, f"till-policy:{location}")


def _till(aggregate: Aggregate) -> Till:
    assert isinstance(aggregate, Till)
    return aggregate


class Till(Aggregate):
    class Registered(Aggregate.Created):
        till: str
        location: str
        trace: Trace

    class LineRecorded(Aggregate.Event):
        """A journal line, applied or rejected (`outcome`), with what reconciling it did."""

        seq: int
        journal_id: str
        kind: str
        outcome: str
        error: str | None
        reconciliation: list[dict[str, Any]]
        voids: int | None
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            till = _till(aggregate)
            till.next_seq = self.seq + 1
            till.tally(self.journal_id, self.seq, self.kind, self.outcome, self.error)
            if self.reconciliation:
                till.note_conflict(self.journal_id, self.seq, self.reconciliation)
            if self.voids is not None and self.outcome == "applied":
                till.voided = (*till.voided, self.voids)

    def __init__(self, till: str, location: str, trace: Trace) -> None:
        self.till = till
        self.location = location
        self.next_seq = 1
        self.journals: dict[str, dict[str, Any]] = {}  # journal id -> summary (replaced)
        self.voided: tuple[int, ...] = ()  # sales a void took back (by their seq)

    def __deepcopy__(self, memo: dict[int, Any]) -> Till:
        """Every summary is replaced, never changed in place: a copy shares them."""
        clone = object.__new__(Till)
        clone.__dict__.update(self.__dict__)
        clone.journals = dict(self.journals)
        clone.__dict__["_pending_events"] = list(self.__dict__.get("_pending_events", []))
        memo[id(self)] = clone
        return clone

    @classmethod
    def register(cls, till: str, location: str, trace: Trace) -> Till:
        return cls._create(
            cls.Registered, id=till_id(till), till=till, location=location, trace=trace
        )

    def require_next(self, seq: int) -> None:
        if seq != self.next_seq:
            raise TillSequenceError(
                f"till {self.till} expects line {self.next_seq} next, got line {seq}: "
                + ("earlier lines are missing" if seq > self.next_seq else "already recorded"),
                till=self.till,
                expected=self.next_seq,
                seq=seq,
            )

    def record(
        self,
        seq: int,
        journal_id: str,
        kind: str,
        outcome: str,
        trace: Trace,
        *,
        error: str | None = None,
        reconciliation: list[dict[str, Any]] | None = None,
        voids: int | None = None,
    ) -> None:
        self.require_next(seq)
        self.trigger_event(
            self.LineRecorded,
            seq=seq,
            journal_id=journal_id,
            kind=kind,
            outcome=outcome,
            error=error,
            reconciliation=reconciliation or [],
            voids=voids,
            trace=trace,
        )

    def tally(self, journal_id: str, seq: int, kind: str, outcome: str, error: str | None) -> None:
        old = self.journals.get(journal_id) or {
            "first_seq": seq,
            "lines": 0,
            "conflicted": 0,
            "conflicts": (),
            "rejected": (),
        }
        summary = {**old, "last_seq": seq, "lines": old["lines"] + 1}
        counted = kind if outcome == "applied" else "rejected_lines"
        summary[counted] = old.get(counted, 0) + 1
        if outcome != "applied" and len(old["rejected"]) < MOST_CONFLICTS_KEPT:
            summary["rejected"] = (*old["rejected"], {"seq": seq, "error": error})
        self.journals = {**self.journals, journal_id: summary}

    def note_conflict(self, journal_id: str, seq: int, steps: list[dict[str, Any]]) -> None:
        summary = self.journals[journal_id]
        conflicts = summary["conflicts"]
        if len(conflicts) < MOST_CONFLICTS_KEPT:
            conflicts = (*conflicts, {"seq": seq, "steps": steps})
        count = summary["conflicted"] + 1
        self.journals = {
            **self.journals,
            journal_id: {**summary, "conflicts": conflicts, "conflicted": count},
        }

    def require_voidable(self, seq: int, voids: int) -> None:
        if not 0 < voids < seq or voids in self.voided:
            raise InvalidCommandError(
                f"line {seq} voids line {voids}, which is not an earlier line of till "
                f"{self.till} that is not voided yet: expected a sale between 1 and {seq - 1}"
            )


def _policy(aggregate: Aggregate) -> ReconciliationPolicy:
    assert isinstance(aggregate, ReconciliationPolicy)
    return aggregate


class ReconciliationPolicy(Aggregate):
    """How a location reconciles a late till sale that finds its units held or sold."""

    class Declared(Aggregate.Created):
        location: str
        steps: list[str]
        trace: Trace

    class Changed(Aggregate.Event):
        steps: list[str]
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            _policy(aggregate).steps = tuple(self.steps)

    def __init__(self, location: str, steps: list[str], trace: Trace) -> None:
        self.location = location
        self.steps = tuple(steps)

    @classmethod
    def declare(cls, location: str, steps: list[str], trace: Trace) -> ReconciliationPolicy:
        return cls._create(
            cls.Declared,
            id=policy_id(location),
            location=location,
            steps=require_steps(steps),
            trace=trace,
        )

    def change(self, steps: list[str], trace: Trace) -> None:
        self.trigger_event(self.Changed, steps=require_steps(steps), trace=trace)


def require_steps(steps: list[str]) -> list[str]:
    unknown = [s for s in steps if s not in STEPS]
    if unknown or not steps or len(set(steps)) != len(steps):
        raise InvalidCommandError(
            f"reconciliation steps {steps} are not valid: expected each of {', '.join(STEPS)} "
            "at most once, in the order to try them"
        )
    ordered = [s for s in steps if s != SHORTAGE]
    return [*ordered, SHORTAGE]  # what nothing else frees is always recorded as a shortage
