"""Group commit: decide commands against cached aggregates and save everything a group
decided in one transaction. The decide/commit steps every writer runs, whatever carries the
commands to it (writer_thread.py, writer_server.py) and however a group reaches the store
(writer_loop.py pipelines them).

eventsourcing's PostgreSQL recorder takes a table lock per write transaction, so one
transaction per command caps the ledger near 1,000 commands/s; grouping the commands that
arrive while the previous transaction commits lifts that ceiling without giving up any
guarantee: each command is decided on the state its predecessors left, a refused command
leaves nothing, and optimistic concurrency on every aggregate still rejects a stale write.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, StoredEvent

from domain.commands import Command
from domain.customer_commands import CustomerCommand
from domain.errors import ConcurrencyConflictError, DomainError, IdempotencyKeyReusedError
from domain.handlers import handle
from domain.ledger import SNAPSHOT_INTERVAL
from domain.results import Result
from domain.stock import Stock
from domain.tills import Till
from domain.unit_of_work import UnitOfWork
from domain.unmet_demand import UnmetDemand, unmet_demand
from service_layer.working_set import AggregateCache, CommitGroup
from service_layer.writer import Outcome
from service_layer.writer_metrics import WriterCounts
from service_layer.writer_slots import Answerable
from storage.command_answers import CommandAnswer, RecentAnswers, client_key
from storage.recorders import ANSWERS, CommandAnswerStore

log = logging.getLogger(__name__)

AnyCommand = Command | CustomerCommand
Handler = Callable[[Any, UnitOfWork], Result]  # domain.handlers.handle, handle_customer


@dataclass(frozen=True)
class Submission:
    command: AnyCommand
    idempotency_key: str | None
    fingerprint: str
    future: Answerable


@dataclass
class Flight:
    """A decided commit group on its way to the store, with what its commands will hear."""

    group: CommitGroup
    decided: list[tuple[Submission, Outcome]] = field(default_factory=list)
    failed: list[tuple[Submission, BaseException]] = field(default_factory=list)
    again: list[Submission] = field(default_factory=list)  # refused: decide alone, strictly
    sent_at: float = 0.0  # perf_counter() when its transaction was sent (writer_loop.py)
    span: Any = None  # its transaction's span, when traced (writer_tracing.py)

    def submissions(self) -> list[Submission]:
        return [s for s, _ in self.decided] + [s for s, _ in self.failed] + self.again


class CommandWriter:
    """Decides commit groups and saves them; answers through each submission's future, and
    calls `after_group` once a group's outcomes are set (to hand them over). Single-threaded:
    one loop (writer_loop.py) drives it."""

    def __init__(
        self,
        ledger: Application[UUID],
        *,
        handler: Handler = handle,
        max_group: int = 256,
        max_attempts: int = 5,
        cache_size: int = 100_000,
        after_group: Callable[[], None] | None = None,
        changes: str = "stock",
    ) -> None:
        """`changes` names what a command changes, for the message of a lost race."""
        self.ledger = ledger
        self.max_group = max_group
        self.max_attempts = max_attempts
        self.cache = AggregateCache(cache_size)
        self.answers = RecentAnswers()
        self._pending_answers: dict[str, CommandAnswer] = {}  # a speculated group's
        self._unmet: list[tuple[str, list[Any]]] = []  # refusals' records: (reason, events)
        self._answer_store = answer_store(ledger)
        self._handle = handler
        self._after_group = after_group
        self._changes = changes
        self.groups_committed = 0
        self.commands_committed = 0  # answered with an outcome, replays included
        self.commands_replayed = 0
        self.commands_refused = 0  # a DomainError, decided alone on stored state
        self.commands_failed = 0  # any other error
        self.unmet_recorded: dict[str, int] = {}  # UnmetDemand records saved, per reason
        self.unmet_unrecorded = 0  # refusals whose unmet demand could not be saved

    def counts(self) -> WriterCounts:
        return WriterCounts(
            self.commands_committed,
            self.groups_committed,
            self.commands_replayed,
            self.commands_refused,
            self.commands_failed,
            tuple(sorted(self.unmet_recorded.items())),
            self.unmet_unrecorded,
        )

    def process_claimed(self, submissions: list[Submission]) -> None:
        """Decide and save one commit group of claimed submissions (`claim`) in one
        transaction, in the calling thread, then hand its outcomes over."""
        try:
            self._process(submissions)
        except Exception as error:  # the thread must survive anything a group throws
            log.exception("command group failed")
            for submission in submissions:
                if not submission.future.done():
                    self._fail(submission, error)
        finally:
            self._deliver()

    def process_alone(self, submissions: list[Submission]) -> None:
        """Decide and save each command in a transaction of its own, on the stored state."""
        self._redo(submissions, [])

    def _deliver(self) -> None:
        if self._after_group is not None:
            try:
                self._after_group()
            except Exception:
                log.exception("handing a group's outcomes over failed")

    def _process(self, submissions: list[Submission]) -> None:
        flight = self.decide_group(submissions)
        for submission, error in flight.failed:
            self._fail(submission, error)
        again = flight.again
        try:
            self._save(flight.group)
        except IntegrityError:
            self._evict(flight.group)
            again = [s for s, _ in flight.decided] + again
        else:
            for submission, outcome in flight.decided:
                self._answer(submission, outcome)
        self._redo(again, [])

    # --- a pipeline's steps (writer_loop.py): decide a group while the one before it is
    # in flight, on the state that one will leave; land it; or take it back -------------

    def decide_group(self, submissions: list[Submission]) -> Flight:
        """Decide a group on the cached state (a speculated group's included); nothing is
        saved or told yet."""
        flight = Flight(self._new_group(strict=False))
        for submission in submissions:
            try:
                flight.decided.append((submission, self._decide(submission, flight.group)))
            except DomainError:
                flight.again.append(submission)  # refuse only on fresh state
            except Exception as error:  # its scope is dropped; the rest of the group goes on
                log.exception("command %s failed", type(submission.command).__name__)
                flight.failed.append((submission, error))
        return flight

    def speculate(self, flight: Flight) -> list[StoredEvent]:
        """Let the next group be decided on this one's state before it commits (`abandon`
        takes that back); the group's events as they will be stored."""
        flight.group.commit_to(self.cache)
        self._pending_answers = dict(flight.group.answers)
        return [self.ledger.mapper.to_stored_event(e) for e in flight.group.events]

    def complete(self, flight: Flight) -> None:
        """The speculated group committed: tell its commands."""
        for answer in self._pending_answers.values():
            self.answers.put(answer)
        self._pending_answers = {}
        self._take_snapshots(flight.group)
        if flight.group.events or flight.group.answers:
            self.groups_committed += 1
        for submission, outcome in flight.decided:
            self._answer(submission, outcome)
        for submission, error in flight.failed:
            self._fail(submission, error)
        self._deliver()

    def abandon(self, flight: Flight) -> None:
        """The speculated group did not commit (or may not have): forget its state and decide
        its commands again, each alone, on what the store holds."""
        self._evict(flight.group)
        self._pending_answers = {}
        self._redo([s for s, _ in flight.decided] + flight.again, flight.failed)

    def _redo(
        self, submissions: list[Submission], failed: list[tuple[Submission, BaseException]]
    ) -> None:
        try:
            for submission in submissions:
                try:
                    self._process_alone(submission)
                except Exception as error:  # this command's alone: the others go on
                    log.exception("command %s failed", type(submission.command).__name__)
                    if not submission.future.done():
                        self._fail(submission, error)
            for submission, reason in failed:
                self._fail(submission, reason)
        finally:
            self._save_unmet_demand()
            self._deliver()

    def _process_alone(self, submission: Submission) -> None:
        for _ in range(self.max_attempts):
            group = self._new_group(strict=True)
            try:
                outcome = self._decide(submission, group)
            except Exception as error:
                if isinstance(error, DomainError):  # refused on fresh state: final
                    self._note_unmet_demand(submission, error)
                self._fail(submission, error)
                return
            try:
                self._save(group)
            except IntegrityError:
                self._evict(group)
                continue
            self._answer(submission, outcome)
            return
        self._fail(
            submission,
            ConcurrencyConflictError(
                f"other writers changed the same {self._changes} {self.max_attempts} times in a "
                "row while this command was decided; retry with the same idempotency key",
                attempts=self.max_attempts,
            ),
        )

    def _note_unmet_demand(self, submission: Submission, error: DomainError) -> None:
        """A refusal for lack of stock is demand the ledger could not meet: its records
        (domain/unmet_demand.py) are kept to be saved once the refusals being redone are
        answered, all in one transaction (`_save_unmet_demand`). The command is refused all
        the same, with the same answer: a failure here is logged and counted, never the
        caller's."""
        try:
            shortfalls = unmet_demand(submission.command, error, submission.idempotency_key)
            self._unmet += [
                (error.code, list(UnmetDemand.record(s).collect_events())) for s in shortfalls
            ]
        except Exception:
            self.unmet_unrecorded += 1
            log.exception(
                "recording the unmet demand of a refused %s failed; the refusal stands",
                type(submission.command).__name__,
            )

    def _save_unmet_demand(self) -> None:
        """Save the refusals' records, each once: a retry under the same idempotency key
        finds those of its first refusal already saved (their ids come from the key), and
        then each record is tried alone."""
        pending, self._unmet = self._unmet, []
        if not pending:
            return
        try:
            self.ledger.events.put([e for _, events in pending for e in events])
            saved = pending
        except IntegrityError:
            saved = [record for record in pending if self._saved_alone(record[1])]
        except Exception:
            self.unmet_unrecorded += len(pending)
            log.exception(
                "saving %d unmet demand record(s) failed; the refusals stand", len(pending)
            )
            return
        for reason, _ in saved:
            self.unmet_recorded[reason] = self.unmet_recorded.get(reason, 0) + 1

    def _saved_alone(self, events: list[Any]) -> bool:
        """False when it was recorded before (or cannot be saved: counted and logged)."""
        try:
            self.ledger.events.put(events)
        except IntegrityError:
            return False
        except Exception:
            self.unmet_unrecorded += 1
            log.exception("saving an unmet demand record failed; the refusal stands")
            return False
        return True

    def _answer(self, submission: Submission, outcome: Outcome) -> None:
        self.commands_committed += 1
        if outcome.replayed:
            self.commands_replayed += 1
        submission.future.set_result(outcome)

    def _fail(self, submission: Submission, error: BaseException) -> None:
        if isinstance(error, DomainError):
            self.commands_refused += 1
        else:
            self.commands_failed += 1
        submission.future.set_exception(error)

    def _decide(self, submission: Submission, group: CommitGroup) -> Outcome:
        key = submission.idempotency_key
        if key is not None:
            known = (
                group.answers.get(key) or self._pending_answers.get(key) or self.answers.get(key)
            )
            if known is None and group.strict:
                known = self._answer_store.select_answer(key)
            if known is not None:
                return replay(known, submission.fingerprint)
        scope = group.scope()
        result = self._handle(submission.command, scope)
        group.promote(scope)
        if key is not None:
            group.answers[key] = CommandAnswer(
                key, submission.fingerprint, result.body, result.created
            )
        return Outcome(result.body, result.created)

    def _save(self, group: CommitGroup) -> None:
        if not group.events and not group.answers:
            return
        # The event store directly: Application.save() would add nothing here but a slow
        # runtime Protocol check per event; snapshots are taken below from the group's state.
        # The answers go into the same transaction (storage/recorders.py).
        self.ledger.events.put(group.events, **{ANSWERS: list(group.answers.values())})
        self._take_snapshots(group)
        group.commit_to(self.cache)
        for answer in group.answers.values():
            self.answers.put(answer)
        self.groups_committed += 1

    def _take_snapshots(self, group: CommitGroup) -> None:
        snapshots = self.ledger.snapshots
        if snapshots is None:
            return
        due = {
            e.originator_id
            for e in group.events
            if e.originator_version % SNAPSHOT_INTERVAL == 0
            and isinstance(group.aggregates.get(e.originator_id), (Stock, Till))
        }
        for aggregate_id in due:
            try:
                aggregate = group.aggregates[aggregate_id]
                snapshots.put([type(aggregate).Snapshot.take(aggregate)])
            except Exception:  # only a shortcut for cold loads: the events are committed
                log.exception("taking a snapshot of %s failed; the next one may", aggregate_id)

    def _evict(self, group: CommitGroup) -> None:
        for aggregate_id in group.aggregates:
            self.cache.evict(aggregate_id)

    def _new_group(self, *, strict: bool) -> CommitGroup:
        return CommitGroup(self.cache, self._load, self._refresh, strict=strict)

    def _load(self, aggregate_id: UUID) -> Aggregate | None:
        try:
            found: Aggregate = self.ledger.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return found

    def _refresh(self, cached: Aggregate) -> Aggregate:
        newer = list(self.ledger.events.get(cached.id, gt=cached.version))
        if not newer:
            return cached
        self.cache.evict(cached.id)
        refreshed = self._load(cached.id)
        assert refreshed is not None
        return refreshed


def claim(submissions: list[Submission]) -> list[Submission]:
    """The submissions whose callers still wait, each made uncancellable: a caller that times
    out later cannot make set_result fail; one that already gave up is not applied."""
    return [s for s in submissions if s.future.set_running_or_notify_cancel()]


def replay(known: CommandAnswer, fingerprint: str) -> Outcome:
    if known.fingerprint != fingerprint:
        key = client_key(known.idempotency_key)
        raise IdempotencyKeyReusedError(
            f"idempotency key {key!r} was already used for a different command; send a new "
            "key for a new command",
            idempotency_key=key,
        )
    return Outcome(known.body, known.created, replayed=True)


def answer_store(ledger: Application[Any]) -> CommandAnswerStore:
    recorder = ledger.recorder
    if not hasattr(recorder, "select_answer"):
        raise TypeError(
            f"the ledger's recorder {type(recorder).__name__} cannot keep command answers; "
            "configure APPLICATION_RECORDER_TOPIC as configuration.settings does"
        )
    return recorder
