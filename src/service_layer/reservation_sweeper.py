"""Expires abandoned reservations: follows the log for open reservations and their deadlines,
and sends an ExpireReservation command for each one that is overdue."""

from __future__ import annotations

import heapq
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID

from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic

from domain.commands import ExpireReservation
from domain.errors import ConcurrencyConflictError, DomainError
from domain.ledger import InventoryLedger
from domain.reservation import Reservation
from domain.trace import Trace
from service_layer.writer import Writer
from streams.outages import Backoff, is_outage

log = logging.getLogger(__name__)

PLACED = get_topic(Reservation.Placed)
EXTENDED = get_topic(Reservation.Extended)
CLOSED = frozenset(
    get_topic(t)
    for t in (
        Reservation.Confirmed,
        Reservation.Released,
        Reservation.Expired,
        Reservation.ConvertedToOrder,
    )
)
TOPICS = [PLACED, EXTENDED, *sorted(CLOSED)]

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(tz=UTC)


class ReservationDeadlines:
    """Open reservations and when they lapse, kept current by reading the notification log."""

    def __init__(self, ledger: InventoryLedger, page_size: int = 1000) -> None:
        self._ledger = ledger
        self._page_size = page_size
        self.position = 0
        self._open: dict[UUID, datetime] = {}
        self._heap: list[tuple[datetime, UUID]] = []

    def catch_up(self) -> None:
        head = self._ledger.recorder.max_notification_id() or 0
        while self.position < head:
            page = self._ledger.recorder.select_notifications(
                self.position + 1, self._page_size, stop=head, topics=TOPICS
            )
            for notification in page:
                self._apply_or_skip(notification)
                self.position = notification.id
            if len(page) < self._page_size:
                self.position = head

    def overdue(self, now: datetime) -> list[UUID]:
        due: list[UUID] = []
        while self._heap and self._heap[0][0] <= now:
            expires_at, reservation_id = heapq.heappop(self._heap)
            if self._open.get(reservation_id) == expires_at:
                due.append(reservation_id)
        return due

    def retry(self, reservation_ids: list[UUID]) -> None:
        """Put reservations that could not be expired back, for the next sweep."""
        for reservation_id in reservation_ids:
            if reservation_id in self._open:
                heapq.heappush(self._heap, (self._open[reservation_id], reservation_id))

    def open_count(self) -> int:
        return len(self._open)

    def oldest_overdue(self, now: datetime) -> float:
        """Seconds since the earliest deadline of an open reservation that has lapsed and is
        not expired yet (0 if none): how far the sweeper is behind. Read from another thread
        (a scrape) without changing anything: only the heap's lapsed entries are visited."""
        heap, open_ = self._heap[:], dict(self._open)
        oldest: datetime | None = None
        waiting = [0] if heap else []
        while waiting:
            index = waiting.pop()
            expires_at, reservation_id = heap[index]
            if expires_at > now:  # and so is everything below it in the heap
                continue
            if open_.get(reservation_id) == expires_at and (oldest is None or expires_at < oldest):
                oldest = expires_at
            waiting += [child for child in (2 * index + 1, 2 * index + 2) if child < len(heap)]
        return 0.0 if oldest is None else (now - oldest).total_seconds()

    def _apply_or_skip(self, notification: Notification) -> None:
        """One event that cannot be read (it does not decode, or its deadline is no UTC
        instant) must not stop the deadlines at its position for good: it is skipped with one
        log line (that reservation then lapses only when released, confirmed or swept by
        hand); an unreachable store is raised, and the page read again."""
        try:
            self._apply(notification.topic, notification.originator_id, notification)
        except Exception as error:
            if is_outage(error):
                raise
            log.warning(
                "reservation deadlines: skipped the event at position %d (%s: %s)",
                notification.id,
                type(error).__name__,
                " ".join(str(error).split())[:200],
            )

    def _apply(self, topic: str, originator_id: object, notification: object) -> None:
        assert isinstance(originator_id, UUID)
        if topic in (PLACED, EXTENDED):
            event = self._ledger.mapper.to_domain_event(notification)  # type: ignore[arg-type]
            assert isinstance(event, Reservation.Placed | Reservation.Extended)
            if event.expires_at.utcoffset() is None:
                raise ValueError(f"expires_at {event.expires_at.isoformat()} names no time zone")
            if topic == EXTENDED and originator_id not in self._open:
                return  # closed already, or its placing was skipped
            heapq.heappush(self._heap, (event.expires_at, originator_id))
            self._open[originator_id] = event.expires_at
        elif topic in CLOSED:
            self._open.pop(originator_id, None)


class ReservationSweeper:
    """A background thread: every interval, catch up with the log and expire what is overdue."""

    def __init__(
        self,
        ledger: InventoryLedger,
        writer: Writer,
        interval_seconds: float,
        clock: Clock = utc_now,
    ) -> None:
        self.deadlines = ReservationDeadlines(ledger)
        self._writer = writer
        self._interval = interval_seconds
        self._clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="reservation-sweeper", daemon=True)
        self.expired_total = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """After the expiry in flight: each is a command of its own, committed or not; the
        reservations left are found again in the log by the next sweeper."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def sweep(self) -> int:
        """Expire every overdue reservation now; returns how many were expired."""
        self.deadlines.catch_up()
        now = self._clock()
        expired = 0
        due = self.deadlines.overdue(now)
        for done, reservation_id in enumerate(due):
            if self._stop.is_set():
                self.deadlines.retry(due[done:])
                break
            trace = Trace(
                channel="system", principal="reservation-sweeper", occurred_at=now, reason="expired"
            )
            try:
                outcome = self._writer.execute(ExpireReservation(reservation_id, now, trace))
            except ConcurrencyConflictError:
                self.deadlines.retry([reservation_id])
                continue
            except DomainError as error:
                log.info("reservation %s not expired: %s", reservation_id, error)
                continue
            except Exception:
                self.deadlines.retry(due[done:])
                raise
            if outcome.body.get("status") == "expired":
                expired += 1
        self.expired_total += expired
        log.log(  # one line per round; an idle round only at DEBUG (configuration/logs.py)
            logging.INFO if due else logging.DEBUG,
            "sweeper round",
            extra={"step": "sweeper-round", "due": len(due), "expired": expired},
        )
        return expired

    def _run(self) -> None:
        # The first sweep reads the log's reservations since the beginning; doing it here,
        # not in start(), keeps a long history from delaying the API's start-up.
        backoff = Backoff("reservation sweep", log, first=self._interval)
        while True:
            wait = self._interval
            try:
                self.sweep()
                backoff.succeeded()
            except Exception as error:  # a storage fault: one line, then a growing pause
                wait = backoff.failed(error)
            if self._stop.wait(wait):
                return
