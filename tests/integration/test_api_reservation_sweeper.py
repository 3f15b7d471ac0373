"""The sweeper behind the API's reservation TTLs, on a real PostgreSQL: a sweep that fails
part-way must not forget the reservations it had due."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from configuration.settings import eventsourcing_env
from domain import commands as c
from domain.errors import ConcurrencyConflictError
from domain.ledger import InventoryLedger
from domain.reservation import Reservation
from domain.trace import Trace
from service_layer.reservation_sweeper import ReservationSweeper
from service_layer.writer import Outcome
from service_layer.writer_thread import InProcessWriter
from tests.e2e.conftest import scratch_database

NOW = datetime.now(tz=UTC)
TRACE = Trace("web", "cart", NOW)


class FlakyWriter(InProcessWriter):
    """Fails the first expiry it is asked for, as a storage fault or a lost race would."""

    def __init__(self, ledger: InventoryLedger, failure: Exception) -> None:
        super().__init__(ledger)
        self.failure: Exception | None = failure

    def execute(self, command: Any, idempotency_key: str | None = None, fp: str = "") -> Outcome:
        if isinstance(command, c.ExpireReservation) and self.failure is not None:
            failure, self.failure = self.failure, None
            raise failure
        return super().execute(command, idempotency_key, fp)


@pytest.fixture
def ledger() -> Iterator[InventoryLedger]:
    with scratch_database() as url:
        ledger = InventoryLedger(env=eventsourcing_env(url))
        yield ledger
        ledger.close()


def _overdue_reservation(writer: InProcessWriter, expires_at: datetime | None = None) -> uuid.UUID:
    variant = c.VariantSpec("MIST", {}, Decimal("9.00"), "EUR")
    writer.execute(c.DefineProduct("P-MIST", {}, (variant,), TRACE))
    writer.execute(c.RegisterLocation("SHOP", "Shop", "store", 0.0, 0.0, TRACE))
    writer.execute(c.ReceiveBatch("MIST", "SHOP", "B1", date(2031, 1, 1), 3, None, TRACE))
    reservation_id = uuid.uuid4()
    lines = (c.StockLine("MIST", "SHOP", 3),)
    expiry = expires_at or NOW - timedelta(seconds=1)
    writer.execute(c.PlaceReservation(reservation_id, lines, expiry, TRACE))
    return reservation_id


@pytest.mark.parametrize(
    "failure",
    [OSError("connection reset"), ConcurrencyConflictError("other writers won 5 times")],
    ids=["storage fault", "lost race"],
)
def test_a_reservation_whose_expiry_failed_is_expired_by_the_next_sweep(
    ledger: InventoryLedger, failure: Exception
) -> None:
    writer = FlakyWriter(ledger, failure)
    writer.start()
    try:
        reservation_id = _overdue_reservation(writer)
        sweeper = ReservationSweeper(ledger, writer, 60)
        with contextlib.suppress(OSError):  # the thread logs it and sweeps again later
            sweeper.sweep()
        assert sweeper.sweep() == 1
    finally:
        writer.stop()
    assert ledger.repository.get(reservation_id).status == "expired"


def test_a_reservation_event_the_deadlines_cannot_read_does_not_stop_the_sweeper(
    ledger: InventoryLedger, caplog: pytest.LogCaptureFixture
) -> None:
    """A placed reservation whose deadline names no time zone (as old data or a future bug
    could leave in the log) is skipped with one line; the overdue one after it expires."""
    naive = Reservation.place(uuid.uuid4(), [], datetime(2030, 1, 1), TRACE)
    ledger.save(naive)
    writer = InProcessWriter(ledger)
    writer.start()
    try:
        reservation_id = _overdue_reservation(writer)
        sweeper = ReservationSweeper(ledger, writer, 60)
        assert sweeper.sweep() == 1
        assert sweeper.sweep() == 0
    finally:
        writer.stop()
    assert ledger.repository.get(reservation_id).status == "expired"
    assert sweeper.deadlines.position == ledger.recorder.max_notification_id()
    skipped = [r for r in caplog.records if "skipped the event" in r.getMessage()]
    assert len(skipped) == 1


def test_the_sweeper_respects_an_extended_expiry(ledger: InventoryLedger) -> None:
    writer = InProcessWriter(ledger)
    writer.start()
    try:
        reservation_id = _overdue_reservation(writer, expires_at=NOW + timedelta(minutes=1))
        clock = [NOW]
        sweeper = ReservationSweeper(ledger, writer, 60, clock=lambda: clock[0])
        sweeper.sweep()  # it knows the first deadline
        writer.execute(c.ExtendReservation(reservation_id, timedelta(minutes=10), NOW, TRACE))
        clock[0] = NOW + timedelta(minutes=2)
        assert sweeper.sweep() == 0
        assert ledger.repository.get(reservation_id).status == "open"
        clock[0] = NOW + timedelta(minutes=12)
        assert sweeper.sweep() == 1
    finally:
        writer.stop()
    assert ledger.repository.get(reservation_id).status == "expired"
