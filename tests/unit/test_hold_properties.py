"""Random sequences of pre-orders, shipments received in parts, transfers in transit and
checkout holds, checked against books kept from the events alone: stock never negative, units
conserved across transfers (on hand + in transit + shortfall), pre-orders never allocated
beyond what their shipment brought and always in placement order; replay equals live."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from memory_uow import MemoryUnitOfWork
from shop import (
    LATER,
    NOW,
    RED,
    STORE,
    WAREHOUSE,
    line,
    memory_ledger,
    open_shop,
    receive,
    reserve,
    trace,
)
from test_stock_properties import replay, state

from domain import commands as c
from domain.errors import DomainError
from domain.sourcing import ShipTo
from domain.stock import Stock

SHIPMENTS = ("PO-1", "PO-2")
quantities = st.integers(min_value=1, max_value=5)
shipments = st.sampled_from(SHIPMENTS)
places = st.sampled_from([WAREHOUSE, STORE])


class HoldMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.uow: MemoryUnitOfWork = open_shop()
        self.uow.run(c.SwitchPreorders(RED, "test", True, trace()))
        for ref, units in zip(SHIPMENTS, (12, 8), strict=True):
            self.uow.run(c.ExpectShipment(RED, WAREHOUSE, ref, units, NOW.date(), trace()))
        self.received = 0  # units received into stock, all locations
        self.sold = 0
        self.shortfall = 0
        self.came_for: dict[str, int] = defaultdict(int)  # shipment -> units received
        self.allocated_for: dict[str, int] = defaultdict(int)
        self.queue: dict[str, list[UUID]] = defaultdict(list)  # waiting, in placement order
        self.preorders: list[UUID] = []
        self.transfers: list[UUID] = []
        self.carts: list[UUID] = []

    def run(self, command: Any) -> bool:
        try:
            self.uow.run(command)
        except DomainError:
            return False
        for event in self.uow.last_events:
            self.book(event)
        return True

    def book(self, e: Any) -> None:
        kind = type(e).__qualname__
        if kind == "Stock.BatchReceived":
            self.received += e.quantity
            if e.shipment_ref:
                self.came_for[e.shipment_ref] += e.quantity
        elif kind == "Stock.Sold":
            self.sold += sum(e.allocations.values())
        elif kind == "Stock.TransferReceived":
            self.shortfall += sum(e.shortfall.values())
        elif kind == "Stock.PreorderTaken":
            self.queue[e.shipment_ref].append(e.preorder_id)
        elif kind == "Stock.PreorderAllocated":
            assert self.queue[e.shipment_ref][0] == e.preorder_id, "allocated out of order"
            self.queue[e.shipment_ref].pop(0)
            self.allocated_for[e.shipment_ref] += sum(e.allocations.values())
        elif kind == "Stock.PreorderWithdrawn":
            self.queue[e.shipment_ref].remove(e.preorder_id)
        elif kind == "Stock.IncomingShipmentCancelled":
            assert self.queue.pop(e.shipment_ref, []) == e.released

    def stocks(self) -> list[Stock]:
        return [a for a in self.uow.aggregates.values() if isinstance(a, Stock)]

    # --- rules ------------------------------------------------------------------------------

    @rule(quantity=quantities, where=places)
    def receive_loose_stock(self, quantity: int, where: str) -> None:
        self.run(receive(quantity=quantity, where=where, batch="LOOSE", expiry=LATER))

    @rule(ref=shipments, quantity=st.integers(min_value=1, max_value=12))
    def announce(self, ref: str, quantity: int) -> None:
        self.run(c.ExpectShipment(RED, WAREHOUSE, ref, quantity, NOW.date(), trace()))

    @rule(ref=shipments, units=st.lists(quantities, min_size=1, max_size=4))
    def preorders_come_in(self, ref: str, units: list[int]) -> None:
        for quantity in units:
            placed = c.PlacePreorder(uuid4(), RED, WAREHOUSE, ref, quantity, trace())
            if self.run(placed):
                self.preorders.append(placed.preorder_id)

    @rule(ref=shipments, quantity=quantities, batch=st.sampled_from(["S1", "S2"]))
    def shipment_arrives(self, ref: str, quantity: int, batch: str) -> None:
        self.run(receive(quantity=quantity, batch=batch, expiry=LATER, shipment_ref=ref))

    @rule(ref=shipments, late=st.sampled_from([True, True, True, False]))
    def shipment_late_or_cancelled(self, ref: str, late: bool) -> None:
        if late:
            self.run(c.DelayShipment(RED, WAREHOUSE, ref, NOW.date() + timedelta(7), trace()))
        else:
            self.run(c.CancelShipment(RED, WAREHOUSE, ref, trace()))

    @precondition(lambda self: self.preorders)
    @rule(data=st.data(), confirm=st.booleans())
    def settle_preorder(self, data: st.DataObject, confirm: bool) -> None:
        preorder_id = data.draw(st.sampled_from(self.preorders))
        cmd = c.ConfirmPreorder if confirm else c.ReleasePreorder
        self.run(cmd(preorder_id, trace()))

    @rule(quantity=quantities, where=places)
    def send_in_transit(self, quantity: int, where: str) -> None:
        to = STORE if where == WAREHOUSE else WAREHOUSE
        sent = c.TransferStock(uuid4(), RED, where, to, quantity, trace(), in_transit=True)
        if self.run(sent):
            self.transfers.append(sent.transfer_id)

    @precondition(lambda self: self.transfers)
    @rule(data=st.data())
    def transfer_arrives(self, data: st.DataObject) -> None:
        transfer_id = data.draw(st.sampled_from(self.transfers))
        for stock in self.stocks():
            on_the_way = stock.in_transit.get(transfer_id.hex)
            if on_the_way is not None:
                arrived = {
                    n: data.draw(st.integers(0, line["quantity"]))
                    for n, line in on_the_way["batches"].items()
                }
                self.run(c.ReceiveTransfer(transfer_id, RED, stock.location, arrived, trace()))

    @rule(quantity=quantities, where=places)
    def hold_a_cart(self, quantity: int, where: str) -> None:
        placed = reserve(line(quantity, where=where))
        if self.run(placed):
            self.carts.append(placed.reservation_id)

    @precondition(lambda self: self.carts)
    @rule(data=st.data(), minutes=st.integers(1, 60), to_order=st.booleans())
    def checkout(self, data: st.DataObject, minutes: int, to_order: bool) -> None:
        cart = data.draw(st.sampled_from(self.carts))
        if to_order:
            home = ShipTo(48.85, 2.30)
            self.run(c.ConvertReservationToOrder(cart, uuid4(), home, NOW, trace()))
        else:
            self.run(c.ExtendReservation(cart, timedelta(minutes=minutes), NOW, trace()))

    # --- invariants -------------------------------------------------------------------------

    @invariant()
    def stock_is_never_negative_nor_held_twice(self) -> None:
        for stock in self.stocks():
            for batch in stock.batches.values():
                assert 0 <= batch.reserved <= batch.on_hand
            for number in stock.batches:
                held = sum(h.get(number, 0) for h in stock.holds.values())
                assert held == stock.batches[number].reserved

    @invariant()
    def units_are_conserved_across_transfers(self) -> None:
        today = NOW.date()
        on_hand = sum(s.summary(today)["on_hand"] for s in self.stocks())
        in_transit = sum(s.units_in_transit() for s in self.stocks())
        assert on_hand + in_transit + self.shortfall + self.sold == self.received

    @invariant()
    def preorders_get_no_more_than_their_shipment_brought(self) -> None:
        for ref in SHIPMENTS:
            assert self.allocated_for[ref] <= self.came_for[ref]
        for stock in self.stocks():
            for ref, waiting in stock.waiting.items():
                assert [UUID(h) for h in waiting] == self.queue[ref]

    @invariant()
    def replay_equals_live(self) -> None:
        for aggregate_id, events in self.uow.history.items():
            assert state(replay(events)) == state(self.uow.get(aggregate_id))

    def teardown(self) -> None:
        with memory_ledger() as ledger:
            ledger.save(*self.uow.all_events())
            for aggregate_id, aggregate in self.uow.aggregates.items():
                assert state(ledger.repository.get(aggregate_id)) == state(aggregate)


HoldMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_holds_transit_and_preorders_keep_the_books_straight = HoldMachine.TestCase
