"""Group commit: one thread decides queued commands against cached aggregates and saves
everything the group decided in one transaction.

eventsourcing's PostgreSQL recorder takes a table lock per write transaction, so one
transaction per command caps the ledger near 1,000 commands/s; grouping the commands that
arrive while the previous transaction commits lifts that ceiling without giving up any
guarantee: each command is decided on the state its predecessors left, a refused command
leaves nothing, and optimistic concurrency on every aggregate still rejects a stale write.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, StoredEvent

from domain.commands import Command
from domain.errors import ConcurrencyConflictError, DomainError, IdempotencyKeyReusedError
from domain.handlers import handle
from domain.ledger import SNAPSHOT_INTERVAL, InventoryLedger
from domain.stock import Stock
from service_layer.working_set import AggregateCache, CommitGroup
from storage.command_answers import CommandAnswer, RecentAnswers, client_key
from storage.recorders import ANSWERS, CommandAnswerStore

log = logging.getLogger(__name__)


class WriterOverloadedError(Exception):
    """The command queue is full: the caller should back off and retry."""


class WriterStoppedError(Exception):
    """The writer is shutting down and takes no more commands."""


@dataclass(frozen=True)
class Outcome:
    """A command's result as its caller hears it: `created` as the handler decided it (the
    API maps it to 201 or 200), `replayed` when it is the first answer to a repeated key."""

    body: dict[str, Any]
    created: bool = False
    replayed: bool = False


class Answerable(Protocol):
    """Where the writer puts a command's outcome: a concurrent Future, or a LoopSlot."""

    def set_running_or_notify_cancel(self) -> bool: ...

    def set_result(self, result: Outcome) -> None: ...

    def set_exception(self, exception: BaseException | None) -> None: ...

    def done(self) -> bool: ...


@dataclass(frozen=True)
class Submission:
    command: Command
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

    def submissions(self) -> list[Submission]:
        return [s for s, _ in self.decided] + [s for s, _ in self.failed] + self.again


class LoopSlot:
    """An outcome bound for an asyncio event loop. The writer collects the outcomes of a whole
    commit group and hands them to each loop in one wake-up (call_soon_threadsafe), instead of
    one cross-thread future chain and one wake-up per command."""

    def __init__(self, loop: asyncio.AbstractEventLoop, outbox: list[Delivery]) -> None:
        self.loop = loop
        self.future: asyncio.Future[Outcome] = loop.create_future()
        self._outbox = outbox
        self._answered = False

    def set_running_or_notify_cancel(self) -> bool:
        return not self.future.done()  # the caller gave up (timed out): do not apply it

    def set_result(self, result: Outcome) -> None:
        self._answered = True
        self._outbox.append((self, result, None))

    def set_exception(self, exception: BaseException | None) -> None:
        self._answered = True
        self._outbox.append((self, None, exception))

    def done(self) -> bool:
        return self._answered


Delivery = tuple[LoopSlot, Outcome | None, BaseException | None]


def _settle(deliveries: list[Delivery]) -> None:
    """Runs in the slots' event loop."""
    for slot, outcome, error in deliveries:
        if slot.future.done():
            continue
        if error is not None:
            slot.future.set_exception(error)
        else:
            slot.future.set_result(outcome)  # type: ignore[arg-type]


_STOP = object()


class CommandWriter:
    def __init__(
        self,
        ledger: InventoryLedger,
        *,
        max_group: int = 256,
        max_attempts: int = 5,
        cache_size: int = 100_000,
        queue_size: int = 20_000,
        on_commit: Callable[[int], None] | None = None,
        after_group: Callable[[], None] | None = None,
    ) -> None:
        self.ledger = ledger
        self.max_group = max_group
        self.max_attempts = max_attempts
        self.cache = AggregateCache(cache_size)
        self.answers = RecentAnswers()
        self._pending_answers: dict[str, CommandAnswer] = {}  # a speculated group's
        self._answer_store = answer_store(ledger)
        self._queue: queue.Queue[Submission | object] = queue.Queue(queue_size)
        self._thread = threading.Thread(target=self._run, name="command-writer", daemon=True)
        self._on_commit = on_commit
        self._after_group = after_group  # in the writer thread, once a group's outcomes are set
        self._stopped = threading.Event()
        self._outbox: list[Delivery] = []  # the writer thread's; handed over after each group
        self.groups_committed = 0
        self.commands_committed = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout)

    def submit(
        self, command: Command, idempotency_key: str | None = None, fingerprint: str = ""
    ) -> Future[Outcome]:
        future: Future[Outcome] = Future()
        self.submit_to(future, command, idempotency_key, fingerprint)
        return future

    def submit_async(
        self, command: Command, idempotency_key: str | None = None, fingerprint: str = ""
    ) -> asyncio.Future[Outcome]:
        """As submit, from a coroutine: the outcome arrives in the running event loop."""
        slot = LoopSlot(asyncio.get_running_loop(), self._outbox)
        self.submit_to(slot, command, idempotency_key, fingerprint)
        return slot.future

    def submit_to(
        self, answer: Answerable, command: Command, idempotency_key: str | None, fingerprint: str
    ) -> None:
        """Queue a command; its outcome goes to `answer` (a Future, a LoopSlot, or the slot of
        a command another process sent)."""
        if self._stopped.is_set():
            raise WriterStoppedError("the ledger is shutting down; retry on another instance")
        try:
            self._queue.put_nowait(Submission(command, idempotency_key, fingerprint, answer))
        except queue.Full:
            raise WriterOverloadedError(
                f"{self._queue.maxsize} commands are already waiting; retry shortly"
            ) from None

    def execute(
        self, command: Command, idempotency_key: str | None = None, fingerprint: str = ""
    ) -> Outcome:
        return self.submit(command, idempotency_key, fingerprint).result()

    def queue_depth(self) -> int:
        return self._queue.qsize()

    # --- the writer thread ---------------------------------------------------------------

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                break
            group = [first]
            while len(group) < self.max_group:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    self._queue.put(_STOP)
                    break
                group.append(item)
            self.process([s for s in group if isinstance(s, Submission)])
        self._fail_waiting()
        self._deliver()

    def process(self, submissions: list[Submission]) -> None:
        """Decide and save one commit group in the calling thread, then hand its outcomes
        over. The writer thread's step; a writer process that reads its commands off a socket
        itself calls it directly (and never starts the thread or uses the queue)."""
        self.process_claimed(claim(submissions))

    def process_claimed(self, submissions: list[Submission]) -> None:
        """As process, for submissions already claimed (`claim`)."""
        try:
            self._process(submissions)
        except Exception as error:  # the thread must survive anything a group throws
            log.exception("command group failed")
            for submission in submissions:
                if not submission.future.done():
                    submission.future.set_exception(error)
        finally:
            self._deliver()

    def process_alone(self, submissions: list[Submission]) -> None:
        """Decide and save each command in a transaction of its own, on the stored state."""
        self._redo(submissions, [])

    def _deliver(self) -> None:
        self._deliver_to_loops()
        if self._after_group is not None:
            try:
                self._after_group()
            except Exception:
                log.exception("handing a group's outcomes over failed")

    def _deliver_to_loops(self) -> None:
        """Hand the group's outcomes to their event loops, one wake-up per loop."""
        if not self._outbox:
            return
        outbox = self._outbox[:]  # the slots hold this very list: empty it in place
        self._outbox.clear()
        by_loop: dict[asyncio.AbstractEventLoop, list[Delivery]] = {}
        for delivery in outbox:
            by_loop.setdefault(delivery[0].loop, []).append(delivery)
        for loop, deliveries in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle, deliveries)
            except RuntimeError:  # that loop has closed: nobody is waiting any more
                log.warning("%d outcome(s) for a closed event loop dropped", len(deliveries))

    def _fail_waiting(self) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, Submission) and item.future.set_running_or_notify_cancel():
                item.future.set_exception(WriterStoppedError("the ledger shut down"))

    def _process(self, submissions: list[Submission]) -> None:
        flight = self.decide_group(submissions)
        for submission, error in flight.failed:
            submission.future.set_exception(error)
        again = flight.again
        try:
            self._save(flight.group)
        except IntegrityError:
            self._evict(flight.group)
            again = [s for s, _ in flight.decided] + again
        else:
            self.commands_committed += len(flight.decided)
            for submission, outcome in flight.decided:
                submission.future.set_result(outcome)
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
        self.commands_committed += len(flight.decided)
        for submission, outcome in flight.decided:
            submission.future.set_result(outcome)
        for submission, error in flight.failed:
            submission.future.set_exception(error)
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
                        submission.future.set_exception(error)
            for submission, reason in failed:
                submission.future.set_exception(reason)
        finally:
            self._deliver()

    def _process_alone(self, submission: Submission) -> None:
        for _ in range(self.max_attempts):
            group = self._new_group(strict=True)
            try:
                outcome = self._decide(submission, group)
            except Exception as error:
                submission.future.set_exception(error)
                return
            try:
                self._save(group)
            except IntegrityError:
                self._evict(group)
                continue
            self.commands_committed += 1
            submission.future.set_result(outcome)
            return
        submission.future.set_exception(
            ConcurrencyConflictError(
                f"other writers changed the same stock {self.max_attempts} times in a row "
                "while this command was decided; retry with the same idempotency key",
                attempts=self.max_attempts,
            )
        )

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
        result = handle(submission.command, scope)
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
        recordings = self.ledger.events.put(group.events, **{ANSWERS: list(group.answers.values())})
        self._take_snapshots(group)
        group.commit_to(self.cache)
        for answer in group.answers.values():
            self.answers.put(answer)
        self.groups_committed += 1
        if self._on_commit is not None and recordings:
            self._on_commit(recordings[-1].notification.id)

    def _take_snapshots(self, group: CommitGroup) -> None:
        snapshots = self.ledger.snapshots
        if snapshots is None:
            return
        due = {
            e.originator_id
            for e in group.events
            if e.originator_version % SNAPSHOT_INTERVAL == 0
            and isinstance(group.aggregates.get(e.originator_id), Stock)
        }
        for aggregate_id in due:
            try:
                snapshots.put([Stock.Snapshot.take(group.aggregates[aggregate_id])])
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
