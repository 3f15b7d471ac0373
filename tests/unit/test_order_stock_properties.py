"""Random mixes of orders (split, pickup, kits), direct sales of the kits' components, every
order transition and pre-orders (backorders) on shipments that arrive into the same stock,
through the handlers: stock is never negative, every unit an open fulfilment order or an
allocated pre-order names is held at its location and nothing else is held (never a unit in
two places), and replaying the log rebuilds every aggregate."""

from __future__ import annotations

from collections import Counter
from contextlib import suppress
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from memory_uow import MemoryUnitOfWork
from shop import LATEST, NOW, NUDE, RED, SOON, memory_ledger, open_shop, receive, trace
from test_event_round_trip import state

from domain import commands as c
from domain import order_commands as o
from domain.errors import DomainError
from domain.order import CANCELLABLE, Order
from domain.preorders import ALLOCATED, Preorder
from domain.sourcing import PickUpAt, ShipTo
from domain.stock import Stock

KIT = "LIP-DUO"  # one RED, two NUDE
PLACES = {"WH-A": ("warehouse", 52.0, 4.0), "WH-B": ("warehouse", 51.0, 5.0)}
PLACES["ST-C"] = ("store", 52.3, 4.9)
STEPS = ("picking", "packed", "shipped", "delivered", "ready-for-pickup", "collected")
STEPS += ("not-collected",)
# a fulfilment order's status -> its next step (shipped, picked up)
NEXT = {
    "open": ("picking", "picking"),
    "picking": ("packed", "packed"),
    "packed": ("shipped", "ready-for-pickup"),
    "shipped": ("delivered", "delivered"),
    "ready_for_pickup": ("collected", "collected"),
}
picks = st.integers(0, 99)
SHIPMENTS = ("ASN-1", "ASN-2")
EXPECTED_ON = NOW.date()
units = st.integers(0, 4)


class OrdersAndSales(RuleBasedStateMachine):
    @initialize()
    def open_the_shop(self) -> None:
        self.uow: MemoryUnitOfWork = open_shop()
        self.uow.run(c.AddVariant("LIP", c.VariantSpec(KIT, {}, Decimal("30"), "EUR"), trace()))
        self.uow.run(o.DefineKit(KIT, {RED: 1, NUDE: 2}, trace()))
        for code, (kind, lat, lon) in PLACES.items():
            self.uow.run(c.RegisterLocation(code, code, kind, lat, lon, trace()))
            for sku in (RED, NUDE):
                self.uow.run(receive(sku, f"{code}-1", SOON, 4, code))
                self.uow.run(receive(sku, f"{code}-2", LATEST, 3, code))
        self.uow.run(c.SwitchPreorders(RED, "test", True, trace()))
        self.orders: list[UUID] = []
        self.preorders: list[UUID] = []
        self.shipped_in: Counter[tuple[str, str]] = Counter()  # units from shipments received

    def attempt(self, command: Any) -> None:
        with suppress(DomainError):  # a refusal: the memory unit of work kept nothing of it
            self.uow.run(command)

    def order(self, pick: int) -> UUID | None:
        return self.orders[pick % len(self.orders)] if self.orders else None

    @rule(
        red=st.integers(0, 5), nude=st.integers(0, 5), kits=st.integers(0, 2), pickup=st.booleans()
    )
    def place(self, red: int, nude: int, kits: int, pickup: bool) -> None:
        lines = [(sku, n) for sku, n in ((RED, red), (NUDE, nude), (KIT, kits)) if n]
        if not lines:
            return
        delivery = PickUpAt("ST-C") if pickup else ShipTo(51.5, 4.5)
        items = tuple(o.OrderedItem(sku, n) for sku, n in lines)
        command = o.PlaceOrder(uuid4(), items, delivery, trace())
        self.attempt(command)
        if command.order_id in self.uow.aggregates:
            self.orders.append(command.order_id)

    @rule(sku=st.sampled_from((RED, NUDE)), where=st.sampled_from(sorted(PLACES)), n=units)
    def sell_alone(self, sku: str, where: str, n: int) -> None:
        self.attempt(c.SellDirect(uuid4(), (c.StockLine(sku, where, n),), trace()))

    @rule(pick=picks, fulfilment=st.integers(1, 4), step=st.sampled_from(STEPS))
    def step(self, pick: int, fulfilment: int, step: str) -> None:
        order_id = self.order(pick)
        if order_id is not None:
            command = o.ProgressFulfilment(order_id, f"F{fulfilment}", step, trace(), c.EVERYWHERE)
            self.attempt(command)

    @rule(pick=picks, collected=st.booleans())
    def advance(self, pick: int, collected: bool) -> None:
        """The next legal step of an order's first unfinished fulfilment order (refusals come
        from `step`)."""
        order_id = self.order(pick)
        if order_id is None:
            return
        fulfilments = self.uow.get(order_id).fulfilments.values()
        found = next((f for f in fulfilments if f.status in NEXT), None)
        if found is None:
            return
        step = NEXT[found.status][found.method == "pickup"]
        step = "not-collected" if step == "collected" and not collected else step
        command = o.ProgressFulfilment(order_id, found.fulfilment_id, step, trace(), c.EVERYWHERE)
        self.uow.run(command)

    @rule(pick=picks, rarely=st.integers(0, 4))
    def cancel(self, pick: int, rarely: int) -> None:
        order_id = self.order(pick)
        if order_id is not None and rarely == 0:
            self.attempt(o.CancelOrder(order_id, trace(), c.EVERYWHERE))

    @rule(pick=picks, line=st.integers(1, 3), n=units)
    def cancel_some(self, pick: int, line: int, n: int) -> None:
        order_id = self.order(pick)
        if order_id is not None:
            self.attempt(o.CancelOrderLines(order_id, {f"L{line}": n}, trace(), c.EVERYWHERE))

    @rule(pick=picks, line=st.integers(1, 3), n=units, add=st.booleans())
    def edit(self, pick: int, line: int, n: int, add: bool) -> None:
        order_id = self.order(pick)
        if order_id is not None:
            added = (o.OrderedItem(RED, 1),) if add else ()
            edit = o.EditOrderLines(order_id, added, (), {f"L{line}": n}, trace(), c.EVERYWHERE)
            self.attempt(edit)

    @rule(pick=picks, rarely=st.integers(0, 4))
    def payment_fails(self, pick: int, rarely: int) -> None:
        order_id = self.order(pick)
        if order_id is not None and rarely == 0:
            self.attempt(o.ReportPayment(order_id, "failed", None, trace(), c.EVERYWHERE))

    @rule(ref=st.sampled_from(SHIPMENTS), n=st.integers(1, 6))
    def announce_shipment(self, ref: str, n: int) -> None:
        self.attempt(c.ExpectShipment(RED, "WH-A", ref, n, EXPECTED_ON, trace()))

    @rule(ref=st.sampled_from(SHIPMENTS), n=st.integers(1, 3))
    def preorder(self, ref: str, n: int) -> None:
        command = c.PlacePreorder(uuid4(), RED, "WH-A", ref, n, trace())
        self.attempt(command)
        if command.preorder_id in self.uow.aggregates:
            self.preorders.append(command.preorder_id)

    @precondition(lambda self: self.preorders)  # else it is just another receipt
    @rule(ref=st.sampled_from(SHIPMENTS), n=st.integers(1, 6), batch=st.sampled_from("XY"))
    def shipment_arrives(self, ref: str, n: int, batch: str) -> None:
        """The shipment's units go to its waiting pre-orders first, the rest on the shelf
        where orders may take them."""
        received = receive(RED, f"{ref}-{batch}", LATEST, n, "WH-A", shipment_ref=ref)
        self.uow.run(received)  # a receipt is never refused
        self.shipped_in[RED, "WH-A"] += n

    @precondition(lambda self: self.preorders)
    @rule(pick=picks, confirm=st.booleans())
    def settle_preorder(self, pick: int, confirm: bool) -> None:
        if self.preorders:
            preorder_id = self.preorders[pick % len(self.preorders)]
            settle = c.ConfirmPreorder if confirm else c.ReleasePreorder
            self.attempt(settle(preorder_id, trace()))

    @invariant()
    def stock_is_never_negative_and_only_open_fulfilments_hold_it(self) -> None:
        named: Counter[tuple[str, str]] = Counter()
        for preorder_id in self.preorders:
            preorder: Preorder = self.uow.get(preorder_id)
            if preorder.status == ALLOCATED:
                named[preorder.sku, preorder.location] += sum(preorder.allocations.values())
        for order_id in self.orders:
            order: Order = self.uow.get(order_id)
            for fulfilment in order.fulfilments.values():
                if fulfilment.status in CANCELLABLE:
                    for item in fulfilment.lines:
                        named[item["sku"], fulfilment.location] += item["quantity"]
        for aggregate in self.uow.aggregates.values():
            if not isinstance(aggregate, Stock):
                continue
            for batch in aggregate.batches.values():
                assert 0 <= batch.reserved <= batch.on_hand, (aggregate.location, batch)
            reserved = sum(b.reserved for b in aggregate.batches.values())
            assert reserved == named[aggregate.sku, aggregate.location]

    @invariant()
    def sold_units_left_the_shelves(self) -> None:
        for aggregate in self.uow.aggregates.values():
            if isinstance(aggregate, Stock):
                on_hand = sum(b.on_hand for b in aggregate.batches.values())
                came = 7 + self.shipped_in[aggregate.sku, aggregate.location]
                left = came - aggregate.counters["sold"] + aggregate.counters["restocked"]
                assert on_hand == left

    def teardown(self) -> None:
        if not hasattr(self, "uow"):
            return
        with memory_ledger() as ledger:
            ledger.save(*self.uow.all_events())
            for aggregate_id, aggregate in self.uow.aggregates.items():
                assert state(ledger.repository.get(aggregate_id)) == state(aggregate)


OrdersAndSales.TestCase.settings = settings(
    max_examples=80,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_orders_kits_and_sales_never_oversell_and_replay_equals_live = OrdersAndSales.TestCase
