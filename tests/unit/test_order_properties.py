"""Random sequences of every order transition: none accepted from a state that forbids it,
a refusal changes nothing, the units stay where the events say, and replay rebuilds the order."""

from copy import deepcopy
from decimal import Decimal
from typing import Any
from uuid import uuid4

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from shop import memory_ledger, trace
from test_orders import HOME, PLACES, STOCK, TODAY, state

from domain.errors import DomainError
from domain.kits import lines_to_source
from domain.order import (
    AUTHORISED,
    CANCELLABLE,
    CANCELLED,
    COLLECTED,
    COMPLETED,
    DELIVERED,
    IN_FULFILMENT,
    OPEN,
    PACKED,
    PAYMENT_PENDING,
    PICKING,
    PLACED,
    READY_FOR_PICKUP,
    SHIPPED,
    SOURCED,
    Order,
)
from domain.sourcing import (
    PICKUP,
    PRIORITY,
    SHIP,
    PickUpAt,
    SourcingDecision,
    SourcingPolicy,
    delivery_from_dict,
    source,
)

# step -> (the fulfilment states it may start from, the method it needs)
STEPS: dict[str, tuple[set[str], str | None]] = {
    "start_picking": ({OPEN}, None),
    "pack": ({PICKING}, None),
    "ship": ({PACKED}, SHIP),
    "deliver": ({SHIPPED}, SHIP),
    "ready_for_pickup": ({PACKED}, PICKUP),
    "collect": ({READY_FOR_PICKUP}, PICKUP),
    "not_collected": ({READY_FOR_PICKUP}, PICKUP),
}
SPLIT = SourcingPolicy("web", strategy=PRIORITY, priority=("WH-PARIS", "WH-LYON", "ST-PARIS"))
picks = st.integers(0, 9)


class GiftSet:
    """Stands in for a Kit aggregate: `lines_to_source` reads only its parts."""

    def parts(self) -> tuple[tuple[str, int], ...]:
        return (("BALM", 1), ("LIP", 2))


class OrderMachine(RuleBasedStateMachine):
    @initialize(pickup=st.booleans(), gift=st.booleans())
    def place(self, pickup: bool, gift: bool) -> None:
        lines = [("LIP", 3, Decimal("12.50")), ("SERUM", 1, Decimal("30"))]
        lines += [("GIFT", 1, Decimal("40"))] if gift else []
        delivery = PickUpAt("ST-PARIS") if pickup else HOME
        self.order = Order.place(uuid4(), lines, "EUR", delivery, trace())
        self.events: list[Any] = list(self.order.collect_events())
        self.refusals = 0
        if not pickup or gift:  # most runs start sourced, so they reach the fulfilment steps
            self.source()

    def attempt(self, legal: bool | None, act: Any) -> bool:
        """Run a transition; `legal` (when known) says whether the state allows it."""
        before = deepcopy(state(self.order))
        try:
            act()
        except DomainError:
            self.refusals += 1
            assert legal is not True, "a legal transition was refused"
            assert self.order.collect_events() == []
            assert state(self.order) == before
            return False
        assert legal is not False, "an illegal transition was accepted"
        self.events += self.order.collect_events()
        return True

    def fulfilment_id(self, pick: int) -> str:
        known = [*sorted(self.order.fulfilments), "F9"]
        return known[pick % len(known)]

    def line_id(self, pick: int) -> str:
        known = [*sorted(self.order.lines), "L9"]
        return known[pick % len(known)]

    # --- rules ------------------------------------------------------------------------------

    @rule()
    def source(self) -> None:
        order = self.order
        open_lines = [(i, line.sku, line.open) for i, line in order.lines.items() if line.open]
        to_source = lines_to_source(open_lines, {"GIFT": GiftSet()})  # type: ignore[dict-item]
        if not to_source:
            return
        delivery = delivery_from_dict(order.delivery)
        decision = source(to_source, delivery, SPLIT, STOCK, PLACES, TODAY)
        if not isinstance(decision, SourcingDecision):
            return  # edits asked for more than the shelves hold: nothing to record
        self.attempt(order.status == PLACED, lambda: order.source(decision, trace()))

    @rule(step=st.sampled_from(sorted(STEPS)), pick=picks)
    def progress(self, step: str, pick: int) -> None:
        fulfilment_id = self.fulfilment_id(pick)
        found = self.order.fulfilments.get(fulfilment_id)
        allowed, method = STEPS[step]
        legal = (
            found is not None
            and found.status in allowed
            and (method is None or found.method == method)
        )
        self.attempt(legal, lambda: getattr(self.order, step)(fulfilment_id, trace()))

    @rule(pick=picks)
    def advance_one(self, pick: int) -> None:
        self.advance(pick)

    def advance(self, pick: int) -> None:
        """A step a fulfilment order may take now (the random `progress` mostly tries
        illegal ones)."""
        order = self.order
        fulfilment_id = self.fulfilment_id(pick)
        found = order.fulfilments.get(fulfilment_id)
        if found is None:
            return
        legal = [
            step
            for step, (allowed, method) in sorted(STEPS.items())
            if found.status in allowed and method in (None, found.method)
        ]
        if legal:
            step = legal[pick % len(legal)]
            self.attempt(True, lambda: getattr(order, step)(fulfilment_id, trace()))

    @rule(pick=picks)
    def advance_again(self, pick: int) -> None:
        """`advance` twice as likely, so that runs reach the last steps."""
        self.advance(pick)

    @rule(rarely=st.integers(0, 4))
    def cancel(self, rarely: int) -> None:
        if rarely:
            return  # an order that ends at once would leave the fulfilment steps untried
        live = [f for f in self.order.fulfilments.values() if f.status != CANCELLED]
        legal = self.order.status not in {CANCELLED, COMPLETED} and all(
            f.status in CANCELLABLE for f in live
        )
        self.attempt(legal, lambda: self.order.cancel(trace()))

    @rule(pick=picks, quantity=st.integers(0, 4))
    def cancel_lines(self, pick: int, quantity: int) -> None:
        line_id = self.line_id(pick)
        line = self.order.lines.get(line_id)
        cancelled_before = line.cancelled if line else 0
        legal = None if line and 0 < quantity <= line.open else False
        if self.attempt(legal, lambda: self.order.cancel_lines({line_id: quantity}, trace())):
            assert self.order.lines[line_id].cancelled == cancelled_before + quantity

    @rule(pick=picks, quantity=st.integers(1, 3), add=st.booleans(), rarely=st.integers(0, 2))
    def edit(self, pick: int, quantity: int, add: bool, rarely: int) -> None:
        if rarely:
            return
        line_id = self.line_id(pick)
        line = self.order.lines.get(line_id)
        legal = self.order.status in {PLACED, SOURCED} and line is not None and line.open > 0
        added = [("SERUM", 1, Decimal("30"))] if add else []
        self.attempt(
            legal,
            lambda: self.order.edit_lines(trace(), add=added, change={line_id: quantity}),
        )

    @rule(amount=st.integers(1, 200))
    def authorise_payment(self, amount: int) -> None:
        legal = self.order.payment.status == PAYMENT_PENDING and self.order.status != CANCELLED
        self.attempt(legal, lambda: self.order.authorise_payment(Decimal(amount), trace()))

    @rule(amount=st.integers(1, 200))
    def capture_payment(self, amount: int) -> None:
        payment = self.order.payment
        legal = (
            payment.status == AUTHORISED
            and self.order.status != CANCELLED
            and Decimal(amount) <= payment.authorised
        )
        self.attempt(legal, lambda: self.order.capture_payment(Decimal(amount), trace()))

    @rule(rarely=st.integers(0, 4))
    def fail_payment(self, rarely: int) -> None:
        if rarely:
            return
        live = [f for f in self.order.fulfilments.values() if f.status != CANCELLED]
        legal = self.order.payment.status in {PAYMENT_PENDING, AUTHORISED} and (
            self.order.status == CANCELLED or all(f.status in CANCELLABLE for f in live)
        )
        self.attempt(legal, lambda: self.order.fail_payment(trace()))

    @rule(pick=picks, quantity=st.integers(1, 3))
    def request_return(self, pick: int, quantity: int) -> None:
        line_id = self.line_id(pick)
        self.attempt(None, lambda: self.order.request_return({line_id: quantity}, trace()))

    @rule(pick=picks, restocked=st.integers(0, 2), damaged=st.integers(0, 2))
    def receive_return(self, pick: int, restocked: int, damaged: int) -> None:
        rmas = [*sorted(self.order.returns), "R9"]
        rma_id = rmas[pick % len(rmas)]
        line_id = next(iter(self.order.returns[rma_id].lines), "L1") if rma_id != "R9" else "L1"
        self.attempt(
            None,
            lambda: self.order.receive_return(
                rma_id, "WH-PARIS", {line_id: restocked}, {line_id: damaged}, trace()
            ),
        )

    @rule(pick=picks, amount=st.integers(0, 60))
    def refund_return(self, pick: int, amount: int) -> None:
        rmas = [*sorted(self.order.returns), "R9"]
        rma_id = rmas[pick % len(rmas)]
        self.attempt(None, lambda: self.order.refund_return(rma_id, Decimal(amount), trace()))

    # --- invariants -------------------------------------------------------------------------

    @invariant()
    def the_order_is_in_a_known_state(self) -> None:
        assert self.order.status in {PLACED, SOURCED, IN_FULFILMENT, COMPLETED, CANCELLED}

    @invariant()
    def every_fulfilment_line_is_made_of_its_batches(self) -> None:
        for fulfilment in self.order.fulfilments.values():
            for item in fulfilment.lines:
                assert item["quantity"] > 0
                assert sum(item["batches"].values()) == item["quantity"]

    @invariant()
    def every_open_item_is_in_exactly_one_fulfilment_order(self) -> None:
        order = self.order
        if not order.sourced or order.cancelled:
            return
        for line_id, line in order.lines.items():
            assert 0 <= line.cancelled <= line.quantity
            for sku, per in line.parts.items():
                units = sum(
                    f.units(line_id, sku)
                    for f in order.fulfilments.values()
                    if f.status != CANCELLED
                )
                assert units == line.open * per, (line_id, sku)

    @invariant()
    def nothing_comes_back_that_was_not_handed_over(self) -> None:
        for line_id in self.order.lines:
            asked = sum(rma.lines.get(line_id, 0) for rma in self.order.returns.values())
            assert asked <= self.order.handed_over(line_id)
            handed = {DELIVERED, SHIPPED, COLLECTED}
            if asked:
                assert any(f.status in handed for f in self.order.fulfilments.values())

    @invariant()
    def replaying_the_events_rebuilds_the_order(self) -> None:
        rebuilt = None
        for event in self.events:
            rebuilt = event.mutate(rebuilt)
        assert state(rebuilt) == state(self.order)

    def teardown(self) -> None:
        with memory_ledger() as ledger:
            ledger.save(*self.events)
            assert state(ledger.repository.get(self.order.id)) == state(self.order)


OrderMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_order_transitions_follow_the_state_machine = OrderMachine.TestCase
