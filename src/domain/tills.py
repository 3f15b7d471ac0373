"""A till (a POS register) belongs to one store and keeps a journal of what it sold, took back
and voided, numbered by its own sequence. The ledger records each line once, in order: the
till's `next_seq` is the high-water mark, a line after a gap is refused, a line already
recorded is answered again from its idempotency answer (service_layer, not here).

A location declares how a late till sale that makes its stock short is reconciled
(`ReconciliationPolicy`): the steps tried in order on the holds it conflicts with, the
lowest-priority hold first; what no step frees is recorded as a shortage."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
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


@lru_cache(maxsize=10_000)
def till_id(till: str) -> UUID:
    return uuid5(GLOWLEDGER_NAMESPACE, f"till:{till}")


@lru_cache(maxsize=10_000)
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

    class LinesRecorded(Aggregate.Event):
        """Journal lines first_seq..last_seq recorded (one event per commit of lines, so the
        log grows by the stock's events, not by the till's): how many of each kind were
        applied, those rejected and why, those that conflicted and what reconciling did."""

        journal_id: str
        first_seq: int
        last_seq: int
        counts: dict[str, int]
        rejected: list[dict[str, Any]]
        conflicts: list[dict[str, Any]]
        voided: list[int]
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            till = _till(aggregate)
            till.next_seq = self.last_seq + 1
            till.tally(self)
            if self.voided:
                till.voided = (*till.voided, *self.voided)

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

    def record_lines(self, book: LineBook, trace: Trace) -> None:
        if book.last_seq is None or book.first_seq is None:
            return  # nothing new: every line was recorded before, or refused
        self.trigger_event(
            self.LinesRecorded,
            journal_id=book.journal_id,
            first_seq=book.first_seq,
            last_seq=book.last_seq,
            counts=book.counts,
            rejected=book.rejected,
            conflicts=book.conflicts,
            voided=book.voided,
            trace=trace,
        )

    def tally(self, lines: Till.LinesRecorded) -> None:
        old = self.journals.get(lines.journal_id) or {
            "first_seq": lines.first_seq,
            "lines": 0,
            "conflicted": 0,
            "rejected_lines": 0,
            "conflicts": (),
            "rejected": (),
        }
        summary = {
            **old,
            "last_seq": lines.last_seq,
            "lines": old["lines"] + lines.last_seq - lines.first_seq + 1,
            "conflicted": old["conflicted"] + len(lines.conflicts),
            "rejected_lines": old["rejected_lines"] + len(lines.rejected),
        }
        for kind, count in lines.counts.items():
            summary[kind] = old.get(kind, 0) + count
        room = MOST_CONFLICTS_KEPT - len(old["conflicts"])
        if lines.conflicts and room > 0:
            summary["conflicts"] = (*old["conflicts"], *lines.conflicts[:room])
        room = MOST_CONFLICTS_KEPT - len(old["rejected"])
        if lines.rejected and room > 0:
            summary["rejected"] = (*old["rejected"], *lines.rejected[:room])
        self.journals = {**self.journals, lines.journal_id: summary}


@dataclass
class LineBook:
    """What one command recorded of a journal, line after line, before the till's event:
    the next line the till expects moves on with every line recorded here."""

    journal_id: str
    next_seq: int
    voided: list[int] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    first_seq: int | None = None
    last_seq: int | None = None

    def is_recorded(self, seq: int, till: Till) -> bool:
        return seq < till.next_seq or (self.first_seq is not None and seq < self.next_seq)

    def require_next(self, seq: int, till: str) -> None:
        if seq != self.next_seq:
            raise TillSequenceError(
                f"till {till} expects line {self.next_seq} next, got line {seq}: "
                "earlier lines are missing",
                till=till,
                expected=self.next_seq,
                seq=seq,
            )

    def recorded(
        self,
        seq: int,
        kind: str,
        outcome: str,
        *,
        error: str | None = None,
        conflict: list[dict[str, Any]] | None = None,
        voids: int | None = None,
    ) -> None:
        self.first_seq = seq if self.first_seq is None else self.first_seq
        self.last_seq, self.next_seq = seq, seq + 1
        if outcome == "applied":
            self.counts[kind] = self.counts.get(kind, 0) + 1
        else:
            self.rejected.append({"seq": seq, "error": error})
        if conflict:
            self.conflicts.append({"seq": seq, "steps": conflict})
        if voids is not None and outcome == "applied":
            self.voided.append(voids)

    def require_voidable(self, seq: int, voids: int, till: Till) -> None:
        if not 0 < voids < seq or voids in till.voided or voids in self.voided:
            raise InvalidCommandError(
                f"line {seq} voids line {voids}, which is not an earlier line of till "
                f"{till.till} that is not voided yet: expected a sale between 1 and {seq - 1}"
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
