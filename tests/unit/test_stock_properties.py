"""Random sequences of every stock command, checked against books kept from the events alone."""

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from memory_uow import MemoryUnitOfWork
from shop import NOW, NUDE, RED, STORE, WAREHOUSE, open_shop, trace

from domain import commands as c
from domain.batch import ACTIVE, QUARANTINED, RECALLED
from domain.errors import DomainError
from domain.ledger import InventoryLedger
from domain.reservation import OPEN, Reservation
from domain.stock import Stock

EXPIRIES = {  # each batch number has one true expiry; "B0" is already past it
    "B0": NOW.date() - timedelta(days=1),
    "B1": NOW.date() + timedelta(days=3),
    "B2": NOW.date() + timedelta(days=20),
    "B3": NOW.date() + timedelta(days=200),
}
skus = st.sampled_from([RED, NUDE])
places = st.sampled_from([WAREHOUSE, STORE])
batches = st.sampled_from(sorted(EXPIRIES))
quantities = st.integers(min_value=1, max_value=4)
shipment_refs = st.sampled_from(["PO-1", "PO-2"])
customers = st.none() | st.sampled_from(["C-ANNA", "C-BEN"])
stock_lines = st.lists(
    st.builds(c.StockLine, skus, places, quantities, st.none() | batches), min_size=1, max_size=2
)


class Books:
    """What the emitted events say, kept without looking at any aggregate."""

    def __init__(self) -> None:
        self.on_hand: dict[tuple[UUID, str], int] = defaultdict(int)
        self.total: dict[UUID, int] = defaultdict(int)
        self.holds: dict[tuple[UUID, str], dict[str, int]] = {}
        self.status: dict[tuple[UUID, str], str] = {}
        self.expiry: dict[tuple[UUID, str], date] = {}
        # sold and not yet returned, per batch and per (customer, batch)
        self.returnable: dict[tuple[UUID, str | None, str], int] = defaultdict(int)

    def record(self, event: Any) -> None:
        kind = type(event).__qualname__
        if kind.startswith("Stock."):
            getattr(self, kind.removeprefix("Stock."), lambda _s, _e: None)(
                event.originator_id, event
            )

    def BatchReceived(self, sid: UUID, e: Any) -> None:
        self._add(sid, e.batch, e.quantity, e.expiry)

    def Reserved(self, sid: UUID, e: Any) -> None:
        held = self.holds.setdefault((sid, e.reservation_id.hex), {})
        for number, quantity in e.allocations.items():
            held[number] = held.get(number, 0) + quantity

    def ReservationReleased(self, sid: UUID, e: Any) -> None:
        self.holds.pop((sid, e.reservation_id.hex), None)

    ReservationExpired = ReservationReleased

    def Sold(self, sid: UUID, e: Any) -> None:
        today = e.trace.occurred_at.date()
        for number, quantity in e.allocations.items():
            assert self.status[sid, number] == ACTIVE, f"sold {number} while {self.status}"
            assert self.expiry[sid, number] >= today, f"sold {number} after it expired"
            self._add(sid, number, -quantity)
            self.returnable[sid, None, number] += quantity
            if e.trace.customer_id is not None:
                self.returnable[sid, e.trace.customer_id, number] += quantity
        if e.reservation_id is not None:
            held = self.holds.pop((sid, e.reservation_id.hex), {})
            assert sum(held.values()) == sum(e.allocations.values()), "sold other than held"

    def Returned(self, sid: UUID, e: Any) -> None:
        whose = [None] if e.trace.customer_id is None else [None, e.trace.customer_id]
        for customer in whose:
            left = self.returnable[sid, customer, e.batch]
            if e.trace.reason is None:  # not the back office's: covered by a sale
                assert e.quantity <= left, f"returned {e.quantity} of {left} sold to {customer}"
            self.returnable[sid, customer, e.batch] = max(0, left - e.quantity)
        if e.restocked:
            self._add(sid, e.batch, e.quantity, e.expiry)

    def Adjusted(self, sid: UUID, e: Any) -> None:
        self._add(sid, e.batch, e.delta)

    def TransferredOut(self, sid: UUID, e: Any) -> None:
        for number, quantity in e.allocations.items():
            self._add(sid, number, -quantity)

    def TransferredIn(self, sid: UUID, e: Any) -> None:
        for number, line in e.batches_in.items():
            self._add(sid, number, line["quantity"], date.fromisoformat(line["expiry"]))

    def BatchQuarantined(self, sid: UUID, e: Any) -> None:
        self.status[sid, e.batch] = QUARANTINED

    def BatchQuarantineLifted(self, sid: UUID, e: Any) -> None:
        self.status[sid, e.batch] = ACTIVE

    def BatchRecalled(self, sid: UUID, e: Any) -> None:
        self.status[sid, e.batch] = RECALLED

    def reserved(self, sid: UUID, number: str) -> int:
        return sum(held.get(number, 0) for (s, _), held in self.holds.items() if s == sid)

    def _add(self, sid: UUID, number: str, quantity: int, expiry: date | None = None) -> None:
        self.on_hand[sid, number] += quantity
        self.total[sid] += quantity
        self.status.setdefault((sid, number), ACTIVE)
        if expiry is not None:
            self.expiry.setdefault((sid, number), expiry)


def replay(events: list[Any]) -> Any:
    aggregate = None
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


def state(aggregate: Aggregate) -> dict[str, Any]:
    return {k: v for k, v in vars(aggregate).items() if k != "_pending_events"}


class StockMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.uow: MemoryUnitOfWork = open_shop()
        self.books = Books()
        self.now: datetime = NOW
        self.reservation_ids: list[UUID] = []
        self.refusals = 0

    def run(self, command: Any) -> bool:
        before = {i: (a, a.version) for i, a in self.uow.aggregates.items()}
        events_before = len(self.uow.all_events())
        try:
            self.uow.run(command)
        except DomainError:
            self.refusals += 1
            assert self.uow.last_events == []
            assert len(self.uow.all_events()) == events_before
            assert {i: (a, a.version) for i, a in self.uow.aggregates.items()} == before
            return False
        for event in self.uow.last_events:
            self.books.record(event)
        return True

    def trace(self, **extra: str | None) -> Any:
        return trace(at=self.now, **{k: v for k, v in extra.items() if v is not None})

    # --- rules: one per stock command, plus the clock ---------------------------------------

    @initialize()
    def stock_every_shelf(self) -> None:
        for sku in (RED, NUDE):
            for where in (WAREHOUSE, STORE):
                for batch in ("B1", "B2", "B3"):
                    self.receive(sku, where, batch, 6, None)

    @rule(minutes=st.sampled_from([1, 30, 60 * 24, 60 * 24 * 10]))
    def clock_moves_on(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    @rule(sku=skus, where=places, batch=batches, quantity=quantities, ref=st.none() | shipment_refs)
    def receive(self, sku: str, where: str, batch: str, quantity: int, ref: str | None) -> None:
        expiry = EXPIRIES[batch]
        self.run(c.ReceiveBatch(sku, where, batch, expiry, quantity, ref, self.trace()))

    @rule(sku=skus, where=places, ref=shipment_refs, quantity=quantities)
    def expect_shipment(self, sku: str, where: str, ref: str, quantity: int) -> None:
        expected_on = self.now.date() + timedelta(days=2)
        self.run(c.ExpectShipment(sku, where, ref, quantity, expected_on, self.trace()))

    @rule(rid=st.uuids(), lines=stock_lines, minutes=st.integers(1, 180))
    def reserve(self, rid: UUID, lines: list[c.StockLine], minutes: int) -> None:
        expires_at = self.now + timedelta(minutes=minutes)
        if self.run(c.PlaceReservation(rid, tuple(lines), expires_at, self.trace())):
            self.reservation_ids.append(rid)

    @precondition(lambda self: self.reservation_ids)
    @rule(pick=st.integers(0, 99))
    def confirm(self, pick: int) -> None:
        rid = self.reservation_ids[pick % len(self.reservation_ids)]
        self.run(c.ConfirmReservation(rid, self.now, self.trace()))

    @precondition(lambda self: self.reservation_ids)
    @rule(pick=st.integers(0, 99))
    def release(self, pick: int) -> None:
        rid = self.reservation_ids[pick % len(self.reservation_ids)]
        self.run(c.ReleaseReservation(rid, self.trace()))

    @precondition(lambda self: self.reservation_ids)
    @rule(pick=st.integers(0, 99))
    def expire(self, pick: int) -> None:
        rid = self.reservation_ids[pick % len(self.reservation_ids)]
        self.run(c.ExpireReservation(rid, self.now, self.trace()))

    @rule(sale=st.uuids(), lines=stock_lines, customer=customers)
    def sell(self, sale: UUID, lines: list[c.StockLine], customer: str | None) -> None:
        self.run(c.SellDirect(sale, tuple(lines), self.trace(customer_id=customer)))

    @rule(
        sku=skus,
        where=places,
        batch=batches,
        expiry=st.sampled_from(["none", "right", "wrong"]),
        quantity=quantities,
        restock=st.booleans(),
        customer=customers,
        back_office=st.booleans(),
    )
    def accept_return(
        self,
        sku: str,
        where: str,
        batch: str,
        expiry: str,
        quantity: int,
        restock: bool,
        customer: str | None,
        back_office: bool,
    ) -> None:
        given = {"none": None, "right": EXPIRIES[batch], "wrong": date(2030, 1, 1)}[expiry]
        reason = "found" if back_office else None
        traced = self.trace(customer_id=customer, reason=reason)
        self.run(c.AcceptReturn(sku, where, batch, given, quantity, restock, traced, back_office))

    @rule(
        sku=skus,
        where=places,
        batch=batches,
        delta=st.none() | st.integers(-6, 6),
        counted=st.integers(-1, 12),
    )
    def adjust(self, sku: str, where: str, batch: str, delta: int | None, counted: int) -> None:
        count = counted if delta is None else None
        self.run(c.AdjustStock(sku, where, batch, delta, count, self.trace()))

    @rule(transfer=st.uuids(), sku=skus, source=places, to=places, quantity=quantities)
    def transfer(self, transfer: UUID, sku: str, source: str, to: str, quantity: int) -> None:
        self.run(c.TransferStock(transfer, sku, source, to, quantity, self.trace()))

    @rule(sku=skus, where=places, batch=batches)
    def quarantine(self, sku: str, where: str, batch: str) -> None:
        self.run(c.QuarantineBatch(sku, where, batch, self.trace()))

    @rule(sku=skus, where=places, batch=batches)
    def lift_quarantine(self, sku: str, where: str, batch: str) -> None:
        self.run(c.LiftQuarantine(sku, where, batch, self.trace()))

    @rule(sku=skus, batch=batches)
    def recall(self, sku: str, batch: str) -> None:
        self.run(c.RecallBatch(sku, batch, self.trace()))

    # --- invariants ------------------------------------------------------------------------

    def stocks(self) -> list[Stock]:
        return [a for a in self.uow.aggregates.values() if isinstance(a, Stock)]

    @invariant()
    def no_batch_is_ever_negative_or_over_reserved(self) -> None:
        today = self.now.date()
        for stock in self.stocks():
            for batch in stock.batches.values():
                assert batch.available(today) >= 0
                assert 0 <= batch.reserved <= batch.on_hand, (stock.location, batch)

    @invariant()
    def on_hand_matches_the_books_kept_from_events(self) -> None:
        for stock in self.stocks():
            for number, batch in stock.batches.items():
                assert batch.on_hand == self.books.on_hand[stock.id, number]
                assert batch.reserved == self.books.reserved(stock.id, number)
                assert batch.status == self.books.status[stock.id, number]
            assert sum(b.on_hand for b in stock.batches.values()) == self.books.total[stock.id]

    @invariant()
    def the_return_book_matches_the_sales_and_returns_in_the_events(self) -> None:
        for stock in self.stocks():
            for number in stock.batches:
                assert (
                    stock.returns.returnable(number, None)
                    == self.books.returnable[stock.id, None, number]
                )

    @invariant()
    def only_open_reservations_hold_stock(self) -> None:
        for stock in self.stocks():
            for held in stock.holds:
                reservation = self.uow.get(UUID(held))
                assert isinstance(reservation, Reservation)
                assert reservation.status == OPEN

    @invariant()
    def replaying_every_aggregates_events_gives_the_same_state(self) -> None:
        for aggregate_id, events in self.uow.history.items():
            assert state(replay(events)) == state(self.uow.get(aggregate_id))

    def teardown(self) -> None:
        ledger = InventoryLedger(
            env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": ":memory:"}
        )
        try:
            ledger.save(*self.uow.all_events())
            for stock in self.stocks():
                assert state(ledger.repository.get(stock.id)) == state(stock)
        finally:
            ledger.close()


StockMachine.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_stock_commands_keep_the_books_straight = StockMachine.TestCase
