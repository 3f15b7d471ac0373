"""The embedded driver: follows the event store in-process and runs the projectors.

Each sink keeps its own position, stored with its update (in the same Lua script in Redis,
after the rows in ClickHouse), and the follower reads it back before every page, so a restart,
a crash or a rebuild swapped in carries on from what the sink really holds. Polling, since
SQLite has no subscription; on PostgreSQL a page is as cheap as one indexed range scan.

An event a sink cannot take is set aside in the dead letters (`isolation`) and the sink goes
on; a sink that cannot be reached is held back while the others catch up, and the follower
waits with a growing pause before it tries again (`outages`)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from audit.bulk_reading import collector_paused
from events.envelope import Envelope
from projections.erasure import Forgetting, ReadStores, erase_forgotten
from projections.facts import batch_rows
from projections.hot_view_store import HotViewStore, apply_batch, rewrite_document
from streams.dead_letters import DeadLetters
from streams.isolation import SET_ASIDE, Sink, apply_page
from streams.letter_retry import retry_requested
from streams.log_reader import LogReader, Unreadable
from streams.outages import Backoff, SinksHeldError, is_outage
from streams.stream_metrics import POSITIONS, PROJECTED
from streams.stream_tracing import envelope_parents, write_spans
from telemetry import tracing

if TYPE_CHECKING:  # its clients (ClickHouse, Arrow) load only where facts are configured
    from projections.clickhouse_facts import ClickHouseFacts

log = logging.getLogger(__name__)

CONSUMER = "projector"
# The customer ledger's log: its own positions in the stores, its sinks' own names (dead
# letters, metrics), since its positions count another log's notifications.
CUSTOMER_CONSUMER = "customer-projector"
CUSTOMER_STREAM = "customer"
ASK_SECONDS = 1.0  # how often the follower looks for retries an operator asked for
HOT_VIEWS, FACTS = "hot_views", "facts"
for _sink in (HOT_VIEWS, FACTS):  # at 0 from the start, so that rates and alerts see the first
    PROJECTED.labels(_sink)
    SET_ASIDE.labels(_sink)
Progress = Callable[[int], None]


@dataclass
class Sinks:
    """The stores one log is projected into. The inventory log's (`consumer` CONSUMER) and the
    customer log's (`for_customers`: CUSTOMER_CONSUMER, sinks named `hot_views:customer`,
    `facts:customer`) are two of these over the same stores; the customer log's also erase
    every customer it forgets (projections/erasure.py) from its stores."""

    hot_views: HotViewStore | None = None
    facts: ClickHouseFacts | None = None
    letters: DeadLetters | None = None  # where events a sink cannot take are set aside
    consumer: str = CONSUMER
    stream: str = ""  # "" for the inventory log, CUSTOMER_STREAM for the customer log's
    recommendations: Forgetting | None = None  # published candidates, for the erasers

    def for_customers(self) -> Sinks:
        """The same stores, as the customer log's sinks."""
        return Sinks(
            self.hot_views,
            self.facts,
            self.letters,
            CUSTOMER_CONSUMER,
            CUSTOMER_STREAM,
            self.recommendations,
        )

    def sink_name(self, name: str) -> str:
        return f"{name}:{self.stream}" if self.stream else name

    def each(self) -> list[Sink]:
        found = []
        consumer, erasing = self.consumer, self.stream == CUSTOMER_STREAM
        if (views := self.hot_views) is not None:
            view_stores = ReadStores(hot_views=views, recommendations=self.recommendations)
            found.append(
                Sink(
                    self.sink_name(HOT_VIEWS),
                    lambda: views.position(consumer),
                    _view_writer(views, consumer, view_stores if erasing else None),
                    lambda envelope, reader: _redo_view(views, envelope, reader, view_stores),
                )
            )
        if (facts := self.facts) is not None:
            fact_stores = ReadStores(analytics=facts)
            found.append(
                Sink(
                    self.sink_name(FACTS),
                    lambda: facts.position(consumer),
                    _fact_writer(facts, consumer, fact_stores if erasing else None),
                    lambda envelope, _: _redo_facts(facts, envelope, consumer, fact_stores),
                )
            )
        return found

    def positions(self) -> dict[str, int]:
        return {sink.name: sink.position() for sink in self.each()}

    def apply(
        self,
        envelopes: Sequence[Envelope],
        last_position: int,
        positions: dict[str, int] | None = None,
        held: dict[str, Exception] | None = None,
        unreadable: Sequence[Unreadable] = (),
        traced: bool = False,
    ) -> None:
        """Apply a page to each sink that has not got it yet (`positions`, if known, saves
        asking each sink again), setting aside the page's `unreadable` events. With `held`,
        a sink that cannot be reached is left out and its error kept there, so that the
        others go on; without, the error is raised. `traced`: each sink's write continues
        the traces of the requests that made the events (the follower; never a rebuild)."""
        positions = self.positions() if positions is None else positions
        for sink in self.each():
            if sink.name in (held or {}) or positions[sink.name] >= last_position:
                continue
            fresh = [e for e in envelopes if e.position > positions[sink.name]]
            lost = [e for e in unreadable if e.position > positions[sink.name]]
            try:
                if traced and tracing.TRACER is not None:
                    with write_spans(
                        sink.name, envelope_parents(fresh), consumer=False, position=last_position
                    ):
                        apply_page(sink, fresh, last_position, self.letters, unreadable=lost)
                else:
                    apply_page(sink, fresh, last_position, self.letters, unreadable=lost)
            except Exception as error:
                if held is None or not is_outage(error):
                    raise
                held[sink.name] = error


def _view_writer(
    views: HotViewStore, consumer: str, erasing: ReadStores | None
) -> Callable[[Sequence[Envelope], int], None]:
    """Erasure runs before the page's position is recorded (a crash in between runs it again)
    and once more after the tombstones are written (an order the inventory log listed for the
    customer meanwhile is unlisted; from then on the tombstone keeps it off)."""

    def write(envelopes: Sequence[Envelope], position: int) -> None:
        if erasing is not None:
            erase_forgotten(envelopes, erasing)
        apply_batch(views, envelopes, consumer, position)
        if erasing is not None:
            erase_forgotten(envelopes, erasing)

    return write


def _fact_writer(
    facts: ClickHouseFacts, consumer: str, erasing: ReadStores | None
) -> Callable[[Sequence[Envelope], int], None]:
    def write(envelopes: Sequence[Envelope], position: int) -> None:
        if erasing is not None:  # before the position: a crash in between erases again
            erase_forgotten(envelopes, erasing)
        facts.write(batch_rows(envelopes), consumer, position)

    return write


def _redo_view(
    views: HotViewStore, envelope: Envelope, reader: LogReader, stores: ReadStores
) -> None:
    rewrite_document(views, reader.history(envelope.aggregate_id), CONSUMER)
    erase_forgotten([envelope], stores)


def _redo_facts(
    facts: ClickHouseFacts, envelope: Envelope, consumer: str, stores: ReadStores
) -> None:
    erase_forgotten([envelope], stores)
    facts.write(batch_rows([envelope]), consumer, 0)


def catch_up(
    reader: LogReader,
    sinks: Sinks,
    page: int = 2000,
    progress: Progress | None = None,
    *,
    traced: bool = False,
    stopping: threading.Event | None = None,
) -> int:
    """Project every event after the sinks' positions up to the head (or until `stopping`
    is set, after a page); returns events read. A sink that cannot be reached is left behind
    while the others catch up; then SinksHeldError names it. `traced`: see Sinks.apply."""
    read = 0
    held: dict[str, Exception] = {}
    while stopping is None or not stopping.is_set():
        positions = _reachable_positions(sinks, held)
        after = min(positions.values(), default=0)
        with collector_paused():  # a page allocates thousands of acyclic objects
            batch = reader.read(after, page) if positions else None
            if batch is None or batch.last_position == after:
                break
            sinks.apply(
                batch.envelopes, batch.last_position, positions, held, batch.unreadable, traced
            )
        read += len(batch.envelopes)
        if progress is not None:
            progress(batch.last_position)
    if held:
        raise SinksHeldError(held)
    return read


def _reachable_positions(sinks: Sinks, held: dict[str, Exception]) -> dict[str, int]:
    found = {}
    for sink in sinks.each():
        if sink.name in held:
            continue
        try:
            found[sink.name] = sink.position()
        except Exception as error:  # no event to blame: the sink itself is out of order
            held[sink.name] = error
            continue
        POSITIONS.record(sink.name, found[sink.name])
    return found


@dataclass(frozen=True)
class FollowedLog:
    """Another log the follower keeps projected beside the inventory's (the customer log)."""

    reader: LogReader
    sinks: Sinks


class LogFollower:
    def __init__(
        self,
        reader: LogReader,
        sinks: Sinks,
        poll_seconds: float = 0.02,
        others: Sequence[FollowedLog] = (),
    ) -> None:
        self.reader = reader
        self.sinks = sinks
        self.others = tuple(others)
        self.poll_seconds = poll_seconds
        self.backoff = Backoff("projection", log)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="projection-follower", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """After the page in progress: each sink stores its position with the page."""
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        asked_at = 0.0  # when the letters were last asked for retries an operator wants
        while not self._stop.is_set():
            try:
                followed = [FollowedLog(self.reader, self.sinks), *self.others]
                for log_ in followed:
                    catch_up(log_.reader, log_.sinks, traced=True, stopping=self._stop)
                if self.sinks.letters is not None and time.monotonic() - asked_at > ASK_SECONDS:
                    asked_at = time.monotonic()
                    for log_ in followed:
                        retry_requested(log_.reader, log_.sinks.each(), self.sinks.letters)
            except Exception as error:  # an outage, or a bug outside any one event
                self._stop.wait(self.backoff.failed(error))
                continue
            self.backoff.succeeded()
            self._stop.wait(self.poll_seconds)
