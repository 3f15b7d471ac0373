"""An order from any channel, followed from placing to the customer and back.

placed -> sourced (one fulfilment order per location) -> per fulfilment order:
  ship:   open -> picking -> packed -> shipped -> delivered
  pickup: open -> picking -> packed -> ready for pickup -> collected | not collected
The whole order, or some of its lines, may be cancelled before they ship; lines may be edited
(added, removed, requantified) before any fulfilment order is started, which withdraws the
fulfilment orders so that the order is sourced again. Payment is a state the channel reports
(authorised, captured, failed: a failure cancels what has not shipped). Returns (RMA) are taken
against the units of a line that were handed over: requested, received (restocked or damaged),
refunded.

Command methods decide and raise `OrderStateError` naming the current state and what was
expected; each event's `apply` only mutates, so replaying history never re-runs a rule. Holding
and releasing stock is the handler's job: the events name the fulfilment orders (locations,
SKUs, batches) whose stock comes back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.commands import Authority
from domain.errors import (
    InvalidCommandError,
    NotPermittedError,
    OrderStateError,
    UnknownFulfilmentError,
)
from domain.ids import fulfilment_hold_id
from domain.sourcing import PICKUP, SHIP, Delivery, SourcingDecision
from domain.trace import Trace

# The order as a whole (derived from its lines and fulfilment orders).
PLACED = "placed"
SOURCED = "sourced"
IN_FULFILMENT = "in_fulfilment"
COMPLETED = "completed"
CANCELLED = "cancelled"

# A fulfilment order.
OPEN = "open"
PICKING = "picking"
PACKED = "packed"
SHIPPED = "shipped"
DELIVERED = "delivered"
READY_FOR_PICKUP = "ready_for_pickup"
COLLECTED = "collected"
NOT_COLLECTED = "not_collected"
HANDED_OVER = frozenset({SHIPPED, DELIVERED, COLLECTED})  # the customer has the units
FINISHED = frozenset({DELIVERED, COLLECTED, NOT_COLLECTED, CANCELLED})
CANCELLABLE = frozenset({OPEN, PICKING, PACKED, READY_FOR_PICKUP})

# Payment, as the channel reports it.
PAYMENT_PENDING = "pending"
AUTHORISED = "authorised"
CAPTURED = "captured"
FAILED = "failed"

# A return (RMA).
REQUESTED = "requested"
RECEIVED = "received"
REFUNDED = "refunded"


@dataclass
class OrderLine:
    line_id: str
    sku: str
    quantity: int  # ordered, cancelled units included
    unit_price: Decimal
    cancelled: int = 0
    parts: dict[str, int] = field(default_factory=dict)  # SKU -> units per item, once sourced

    @property
    def open(self) -> int:
        return self.quantity - self.cancelled

    def as_dict(self) -> dict[str, Any]:
        return {
            "line_id": self.line_id,
            "sku": self.sku,
            "quantity": self.quantity,
            "cancelled": self.cancelled,
            "unit_price": str(self.unit_price),
        }


@dataclass
class Fulfilment:
    """What one location sends (or hands over) for the order: SKUs, units and batches."""

    fulfilment_id: str
    location: str
    method: str
    status: str
    lines: list[dict[str, Any]]  # line_id, sku, quantity, batches {number: units}

    def units(self, line_id: str, sku: str) -> int:
        return sum(
            item["quantity"]
            for item in self.lines
            if item["line_id"] == line_id and item["sku"] == sku
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "fulfilment_id": self.fulfilment_id,
            "location": self.location,
            "method": self.method,
            "status": self.status,
            "lines": self.lines,
        }


@dataclass
class Payment:
    status: str = PAYMENT_PENDING
    authorised: Decimal = Decimal(0)
    captured: Decimal = Decimal(0)


@dataclass
class ReturnAuthorisation:
    rma_id: str
    status: str
    lines: dict[str, int]  # line id -> items requested back
    location: str | None = None
    restocked: dict[str, int] = field(default_factory=dict)
    damaged: dict[str, int] = field(default_factory=dict)
    refund: Decimal | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "rma_id": self.rma_id,
            "status": self.status,
            "lines": self.lines,
            "location": self.location,
            "restocked": self.restocked,
            "damaged": self.damaged,
            "refund": None if self.refund is None else str(self.refund),
        }


def _order(aggregate: Aggregate) -> Order:
    assert isinstance(aggregate, Order)
    return aggregate


class Order(Aggregate):
    class Placed(Aggregate.Created):
        lines: list[dict[str, Any]]  # line_id, sku, quantity, unit_price
        currency: str
        delivery: dict[str, Any]
        trace: Trace

    class Sourced(Aggregate.Event):
        fulfilments: list[dict[str, Any]]
        parts: dict[str, dict[str, int]]  # line id -> SKU -> units per item
        decision: dict[str, Any]  # the sourcing decision and its reasons
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            order = _order(aggregate)
            order.add_fulfilments(self.fulfilments)
            for line_id, parts in self.parts.items():
                order.lines[line_id].parts = dict(parts)
            order.sourced = True
            order.decision = self.decision

    class FulfilmentProgressed(Aggregate.Event):
        """A step of one fulfilment order; each subclass names the state it reaches."""

        reaches: ClassVar[str]
        fulfilment_id: str
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            _order(aggregate).fulfilments[self.fulfilment_id].status = self.reaches

    class PickingStarted(FulfilmentProgressed):
        reaches = PICKING

    class Packed(FulfilmentProgressed):
        reaches = PACKED

    class Shipped(FulfilmentProgressed):
        reaches = SHIPPED

    class Delivered(FulfilmentProgressed):
        reaches = DELIVERED

    class ReadyForPickup(FulfilmentProgressed):
        reaches = READY_FOR_PICKUP

    class Collected(FulfilmentProgressed):
        reaches = COLLECTED

    class NotCollected(FulfilmentProgressed):
        """The customer never came: the units go back to stock at the store."""

        reaches = NOT_COLLECTED

    class Cancelled(Aggregate.Event):
        withdrawn: list[str]  # fulfilment orders whose stock comes back
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            _order(aggregate).cancel_everything(self.withdrawn)

    class LinesCancelled(Aggregate.Event):
        lines: dict[str, int]  # line id -> items cancelled
        removed: list[dict[str, Any]]  # fulfilment_id, line_id, sku, quantity, batches
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            _order(aggregate).cancel_removed(self.lines, self.removed)

    class LinesEdited(Aggregate.Event):
        added: list[dict[str, Any]]  # line_id, sku, quantity, unit_price
        removed: list[str]
        changed: dict[str, int]  # line id -> its new open quantity
        withdrawn: list[str]  # fulfilment orders given up, to be sourced again
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            order = _order(aggregate)
            for fulfilment_id in self.withdrawn:
                del order.fulfilments[fulfilment_id]
            for line_id in self.removed:
                del order.lines[line_id]
            for line_id, quantity in self.changed.items():
                line = order.lines[line_id]
                line.quantity = line.cancelled + quantity
            for data in self.added:
                order.lines[data["line_id"]] = OrderLine(**data)
            order.lines_made += len(self.added)
            for line in order.lines.values():
                line.parts = {}
            order.sourced = False

    class FulfilmentResourced(Aggregate.Event):
        """A till at the fulfilment order's location sold units it held before it was
        started: they are taken out of it (`removed`) and held by new fulfilment orders
        elsewhere (the trace names the till line and the reason)."""

        fulfilment_id: str
        removed: list[dict[str, Any]]  # fulfilment_id, line_id, sku, quantity, batches
        fulfilments: list[dict[str, Any]]  # the new fulfilment orders, as `Sourced` names them
        decision: dict[str, Any]  # the sourcing decision for the units moved, and its reasons
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            order = _order(aggregate)
            order.take_out(self.removed)
            order.add_fulfilments(self.fulfilments)
            moved = [f["fulfilment_id"] for f in self.fulfilments]
            order.notice(self.trace, "resourced", self.fulfilment_id, self.removed, to=moved)

    class LinesCancelledForShortage(Aggregate.Event):
        """Items of lines cancelled because a till at `location` sold the units of `sku`
        their open fulfilment order held, and no other location could send them."""

        lines: dict[str, int]  # line id -> items cancelled
        removed: list[dict[str, Any]]  # fulfilment_id, line_id, sku, quantity, batches
        location: str
        sku: str
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            order = _order(aggregate)
            order.cancel_removed(self.lines, self.removed)
            first = self.removed[0]["fulfilment_id"] if self.removed else ""
            order.notice(self.trace, "lines_cancelled", first, self.removed, lines=self.lines)

    class PaymentAuthorised(Aggregate.Event):
        amount: Decimal
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            payment = _order(aggregate).payment
            payment.status, payment.authorised = AUTHORISED, self.amount

    class PaymentCaptured(Aggregate.Event):
        amount: Decimal
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            payment = _order(aggregate).payment
            payment.status, payment.captured = CAPTURED, self.amount

    class PaymentFailed(Aggregate.Event):
        withdrawn: list[str]  # fulfilment orders whose stock comes back
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            order = _order(aggregate)
            order.payment.status = FAILED
            if not order.cancelled:
                order.cancel_everything(self.withdrawn)

    class ReturnRequested(Aggregate.Event):
        rma_id: str
        lines: dict[str, int]
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            returns = _order(aggregate).returns
            returns[self.rma_id] = ReturnAuthorisation(self.rma_id, REQUESTED, dict(self.lines))

    class ReturnReceived(Aggregate.Event):
        rma_id: str
        location: str
        restocked: dict[str, int]  # line id -> items back on the shelf
        damaged: dict[str, int]  # line id -> items written off
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            rma = _order(aggregate).returns[self.rma_id]
            rma.status, rma.location = RECEIVED, self.location
            rma.restocked, rma.damaged = dict(self.restocked), dict(self.damaged)

    class ReturnRefunded(Aggregate.Event):
        rma_id: str
        amount: Decimal
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            rma = _order(aggregate).returns[self.rma_id]
            rma.status, rma.refund = REFUNDED, self.amount

    def __init__(
        self, lines: list[dict[str, Any]], currency: str, delivery: dict[str, Any], trace: Trace
    ) -> None:
        self.lines = {data["line_id"]: OrderLine(**data) for data in lines}
        self.lines_made = len(lines)
        self.currency = currency
        self.delivery = delivery
        self.channel = trace.channel
        self.source_ref = trace.source_ref
        self.customer_id = trace.customer_id
        self.sourced = False
        self.decision: dict[str, Any] | None = None
        self.fulfilments: dict[str, Fulfilment] = {}
        self.fulfilments_made = 0
        self.cancelled = False
        self.payment = Payment()
        self.returns: dict[str, ReturnAuthorisation] = {}
        self.notices: tuple[dict[str, Any], ...] = ()  # what a till's late sale did to it

    @classmethod
    def place(
        cls,
        order_id: UUID,
        lines: Iterable[tuple[str, int, Decimal]],
        currency: str,
        delivery: Delivery,
        trace: Trace,
    ) -> Order:
        """An order of (SKU, quantity, unit price) lines; its lines are numbered L1, L2, ..."""
        placed = [_new_line(f"L{n}", *line) for n, line in enumerate(lines, 1)]
        if not placed:
            raise InvalidCommandError("an order needs at least one line")
        return cls._create(
            cls.Placed,
            id=order_id,
            lines=placed,
            currency=currency,
            delivery=delivery.as_dict(),
            trace=trace,
        )

    # --- state --------------------------------------------------------------------------

    @property
    def status(self) -> str:
        if self.cancelled:
            return CANCELLED
        if not self.sourced:
            return PLACED
        active = {f.status for f in self.fulfilments.values()} - {CANCELLED}
        if active <= {OPEN}:
            return SOURCED
        if active <= FINISHED:
            return COMPLETED
        return IN_FULFILMENT

    def cancel_everything(self, withdrawn: Iterable[str]) -> None:
        """Shared by the events that end the order (a cancellation, a failed payment)."""
        for fulfilment_id in withdrawn:
            self.fulfilments[fulfilment_id].status = CANCELLED
        for line in self.lines.values():
            line.cancelled = line.quantity
        self.cancelled = True

    def add_fulfilments(self, fulfilments: Iterable[Mapping[str, Any]]) -> None:
        for data in fulfilments:
            fulfilment = Fulfilment(**{**data, "lines": [dict(i) for i in data["lines"]]})
            self.fulfilments[fulfilment.fulfilment_id] = fulfilment
            self.fulfilments_made += 1

    def take_out(self, removed: Iterable[Mapping[str, Any]]) -> None:
        """Units out of fulfilment orders; one left with nothing is cancelled."""
        for removal in removed:
            fulfilment = self.fulfilments[removal["fulfilment_id"]]
            fulfilment.lines = _without(fulfilment.lines, removal)
        for fulfilment in self.fulfilments.values():
            if fulfilment.status != CANCELLED and not fulfilment.lines:
                fulfilment.status = CANCELLED

    def cancel_removed(
        self, lines: Mapping[str, int], removed: Iterable[Mapping[str, Any]]
    ) -> None:
        for line_id, quantity in lines.items():
            self.lines[line_id].cancelled += quantity
        self.take_out(removed)
        if all(line.open == 0 for line in self.lines.values()):
            self.cancelled = True

    def notice(
        self,
        trace: Trace,
        action: str,
        fulfilment_id: str,
        removed: Iterable[Mapping[str, Any]],
        **more: Any,
    ) -> None:
        """What a till's late sale did to the order, as its channel reads it."""
        units = sum(int(r["quantity"]) for r in removed if r["fulfilment_id"] == fulfilment_id)
        done = {"action": action, "fulfilment_id": fulfilment_id, "units": units, **more}
        self.notices = (
            *self.notices,
            {**done, "reason": trace.reason, "till_line": trace.source_ref},
        )

    def handed_over(self, line_id: str) -> int:
        """Items of a line the customer has received (shipped, delivered or collected)."""
        line = self.lines[line_id]
        if not line.parts:
            return 0
        return min(
            sum(f.units(line_id, sku) for f in self.fulfilments.values() if f.status in HANDED_OVER)
            // per
            for sku, per in line.parts.items()
        )

    def returnable(self, line_id: str) -> int:
        asked = sum(rma.lines.get(line_id, 0) for rma in self.returns.values())
        return self.handed_over(line_id) - asked

    def as_dict(self) -> dict[str, Any]:
        return {
            "order_id": str(self.id),
            "status": self.status,
            "channel": self.channel,
            "source_ref": self.source_ref,
            "currency": self.currency,
            "delivery": self.delivery,
            "lines": [line.as_dict() for line in self.lines.values()],
            "fulfilments": [f.as_dict() for f in self.fulfilments.values()],
            "payment": {
                "status": self.payment.status,
                "authorised": str(self.payment.authorised),
                "captured": str(self.payment.captured),
            },
            "returns": [rma.as_dict() for rma in self.returns.values()],
            "decision": self.decision,  # the last sourcing decision and its reasons
            "version": self.version,
            **({"till_reconciliation": list(self.notices)} if self.notices else {}),
        }

    # --- sourcing and edits -------------------------------------------------------------

    def source(self, decision: SourcingDecision, trace: Trace) -> list[Fulfilment]:
        """Record the fulfilment orders of a sourcing decision, one per location."""
        self._require_status({PLACED}, "sourced")
        expected = PICKUP if self.delivery["method"] == PICKUP else SHIP
        if decision.method != expected:
            raise InvalidCommandError(
                f"order {self.id} is for {expected}, but the decision is for {decision.method}"
            )
        open_lines = {i for i, line in self.lines.items() if line.open}
        units: dict[str, dict[str, int]] = {}
        for allocation in decision.allocations:
            if allocation.line_id not in open_lines:
                raise InvalidCommandError(
                    f"the sourcing decision names line {allocation.line_id!r}, which order "
                    f"{self.id} has not open: expected one of {sorted(open_lines)}"
                )
            per_line = units.setdefault(allocation.line_id, {})
            per_line[allocation.sku] = per_line.get(allocation.sku, 0) + allocation.quantity
        parts = {}
        for line_id in sorted(open_lines):
            line = self.lines[line_id]
            served = units.get(line_id, {})
            plain = line.sku in served and served != {line.sku: line.open}
            if plain or not served or any(n % line.open for n in served.values()):
                raise InvalidCommandError(
                    f"the sourcing decision does not serve line {line_id} ({line.open} x "
                    f"{line.sku}) whole: it gives {served or 'nothing'}"
                )
            parts[line_id] = {sku: n // line.open for sku, n in served.items()}
        fulfilments = self._fulfilments_of(decision)
        self.trigger_event(
            self.Sourced,
            fulfilments=[f.as_dict() for f in fulfilments],
            parts=parts,
            decision=decision.as_dict(),
            trace=trace,
        )
        return fulfilments

    def _fulfilments_of(self, decision: SourcingDecision) -> list[Fulfilment]:
        """The decision's fulfilment orders, one per location, numbered after the last."""
        fulfilments = []
        for n, (location, allocations) in enumerate(decision.shipments().items(), 1):
            items = [
                {"line_id": a.line_id, "sku": a.sku, "quantity": a.quantity}
                | {"batches": dict(a.batches)}
                for a in allocations
            ]
            number = f"F{self.fulfilments_made + n}"
            fulfilments.append(Fulfilment(number, location, decision.method, OPEN, items))
        return fulfilments

    # --- a till sold what an open fulfilment order held (domain/till_order_steps.py) -------

    def give_up(self, fulfilment_id: str, sku: str, units: int) -> list[dict[str, Any]]:
        """Up to `units` of `sku` out of an open fulfilment order, line by line, the batches
        that expire last first (decided only: `resource` records it)."""
        fulfilment = self._require_open_fulfilment(fulfilment_id, "re-sourced")
        removed = []
        for line_id in dict.fromkeys(i["line_id"] for i in fulfilment.lines if i["sku"] == sku):
            here = min(units, fulfilment.units(line_id, sku))
            if here > 0:
                removed.append(_removal(fulfilment, line_id, sku, here))
                units -= here
        return removed

    def resource(
        self,
        fulfilment_id: str,
        removed: list[dict[str, Any]],
        decision: SourcingDecision,
        trace: Trace,
    ) -> list[Fulfilment]:
        """Hand the units `give_up` took out of an open fulfilment order to new fulfilment
        orders where the decision found them; returns the new ones."""
        self._require_open_fulfilment(fulfilment_id, "re-sourced")
        fulfilments = self._fulfilments_of(decision)
        self.trigger_event(
            self.FulfilmentResourced,
            fulfilment_id=fulfilment_id,
            removed=removed,
            fulfilments=[f.as_dict() for f in fulfilments],
            decision=decision.as_dict(),
            trace=trace,
        )
        return fulfilments

    def cancel_for_shortage(
        self, fulfilment_id: str, sku: str, units: int, trace: Trace
    ) -> list[dict[str, Any]]:
        """Cancel as few whole items of the lines an open fulfilment order holds `sku` for
        as free `units` of it there (their other parts too); returns what comes back."""
        fulfilment = self._require_open_fulfilment(fulfilment_id, "cancelled for shortage")
        items: dict[str, int] = {}
        for item in reversed(fulfilment.lines):
            line = self.lines[item["line_id"]]
            if item["sku"] != sku or units <= 0 or line.open - items.get(line.line_id, 0) <= 0:
                continue
            per = line.parts.get(sku, 1)
            count = min(-(-min(units, item["quantity"]) // per), line.open)
            items[line.line_id] = items.get(line.line_id, 0) + count
            units -= count * per
        removed: list[dict[str, Any]] = []
        for line_id, count in items.items():
            for part, per in self.lines[line_id].parts.items():
                removed += self._take_back(line_id, part, count * per, first=fulfilment_id)
        self.trigger_event(
            self.LinesCancelledForShortage,
            lines=items,
            removed=removed,
            location=fulfilment.location,
            sku=sku,
            trace=trace,
        )
        return removed

    def edit_lines(
        self,
        trace: Trace,
        *,
        add: Iterable[tuple[str, int, Decimal]] = (),
        remove: Iterable[str] = (),
        change: Mapping[str, int] | None = None,
    ) -> list[Fulfilment]:
        """Add, remove or requantify lines before any fulfilment order is started; returns
        the fulfilment orders withdrawn (their stock comes back; the order is sourced again)."""
        self._require_not_started("edited")
        removed, changed = sorted(set(remove)), dict(change or {})
        for line_id in [*removed, *changed]:
            self._require_open_line(line_id)
        both = set(removed) & set(changed)
        if both:
            raise InvalidCommandError(
                f"line(s) {sorted(both)} are both removed and changed: expected one or the other"
            )
        for line_id, quantity in changed.items():
            _require_positive(quantity, line_id)
        start = self.lines_made + 1
        added = [_new_line(f"L{n}", *line) for n, line in enumerate(add, start)]
        left = [i for i, line in self.lines.items() if line.open and i not in removed]
        if not left and not added:
            raise InvalidCommandError(
                f"the edit would leave order {self.id} without a line: cancel the order instead"
            )
        if not (added or removed or changed):
            raise InvalidCommandError("an edit must add, remove or change at least one line")
        withdrawn = [f for f in self.fulfilments.values() if f.status == OPEN]
        self.trigger_event(
            self.LinesEdited,
            added=added,
            removed=removed,
            changed=changed,
            withdrawn=[f.fulfilment_id for f in withdrawn],
            trace=trace,
        )
        return withdrawn

    # --- fulfilment -----------------------------------------------------------------------

    def start_picking(self, fulfilment_id: str, trace: Trace) -> Fulfilment:
        return self._progress(self.PickingStarted, fulfilment_id, {OPEN}, None, trace)

    def pack(self, fulfilment_id: str, trace: Trace) -> Fulfilment:
        return self._progress(self.Packed, fulfilment_id, {PICKING}, None, trace)

    def ship(self, fulfilment_id: str, trace: Trace) -> Fulfilment:
        return self._progress(self.Shipped, fulfilment_id, {PACKED}, SHIP, trace)

    def deliver(self, fulfilment_id: str, trace: Trace) -> Fulfilment:
        return self._progress(self.Delivered, fulfilment_id, {SHIPPED}, SHIP, trace)

    def ready_for_pickup(self, fulfilment_id: str, trace: Trace) -> Fulfilment:
        return self._progress(self.ReadyForPickup, fulfilment_id, {PACKED}, PICKUP, trace)

    def collect(self, fulfilment_id: str, trace: Trace) -> Fulfilment:
        return self._progress(self.Collected, fulfilment_id, {READY_FOR_PICKUP}, PICKUP, trace)

    def not_collected(self, fulfilment_id: str, trace: Trace) -> Fulfilment:
        """The customer did not come: the held units go back to stock (the handler's job)."""
        return self._progress(self.NotCollected, fulfilment_id, {READY_FOR_PICKUP}, PICKUP, trace)

    # --- cancellation -----------------------------------------------------------------------

    def cancel(self, trace: Trace) -> list[Fulfilment]:
        """Cancel the whole order before anything shipped; returns the fulfilment orders whose
        stock comes back."""
        self._require_status({PLACED, SOURCED, IN_FULFILMENT}, "cancelled")
        withdrawn = self._require_cancellable("cancelled")
        self.trigger_event(
            self.Cancelled, withdrawn=[f.fulfilment_id for f in withdrawn], trace=trace
        )
        return withdrawn

    def cancel_lines(self, quantities: Mapping[str, int], trace: Trace) -> list[dict[str, Any]]:
        """Cancel items of some lines before they ship; returns what each fulfilment order
        gives up (fulfilment_id, line_id, sku, quantity, batches) so its stock comes back."""
        self._require_status({PLACED, SOURCED, IN_FULFILMENT}, "changed")
        if not quantities:
            raise InvalidCommandError("name at least one line to cancel")
        removed: list[dict[str, Any]] = []
        for line_id, quantity in quantities.items():
            line = self._require_open_line(line_id)
            _require_positive(quantity, line_id)
            if quantity > line.open:
                raise InvalidCommandError(
                    f"line {line_id} has {line.open} item(s) open, {quantity} cannot be cancelled"
                )
            for sku, per in line.parts.items():
                removed += self._take_back(line_id, sku, quantity * per)
        self.trigger_event(
            self.LinesCancelled, lines=dict(quantities), removed=removed, trace=trace
        )
        return removed

    # --- payment ------------------------------------------------------------------------

    def authorise_payment(self, amount: Decimal, trace: Trace) -> None:
        self._require_payment({PAYMENT_PENDING}, "authorised")
        self._require_status({PLACED, SOURCED, IN_FULFILMENT, COMPLETED}, "paid")
        _require_amount(amount, "an authorised amount")
        self.trigger_event(self.PaymentAuthorised, amount=amount, trace=trace)

    def capture_payment(self, amount: Decimal, trace: Trace) -> None:
        self._require_payment({AUTHORISED}, "captured")
        self._require_status({PLACED, SOURCED, IN_FULFILMENT, COMPLETED}, "paid")
        _require_amount(amount, "a captured amount")
        if amount > self.payment.authorised:
            raise InvalidCommandError(
                f"cannot capture {amount} {self.currency}: only {self.payment.authorised} "
                f"{self.currency} was authorised"
            )
        self.trigger_event(self.PaymentCaptured, amount=amount, trace=trace)

    def fail_payment(self, trace: Trace) -> list[Fulfilment]:
        """The payment failed: the order is cancelled, and the stock of every fulfilment order
        not yet handed over comes back (returned)."""
        self._require_payment({PAYMENT_PENDING, AUTHORISED}, "failed")
        withdrawn = [] if self.cancelled else self._require_cancellable("cancelled by a failure")
        self.trigger_event(
            self.PaymentFailed, withdrawn=[f.fulfilment_id for f in withdrawn], trace=trace
        )
        return withdrawn

    # --- returns ------------------------------------------------------------------------

    def request_return(self, quantities: Mapping[str, int], trace: Trace) -> str:
        """A return authorisation (RMA) for items handed over and not yet asked back;
        returns its id (R1, R2, ...)."""
        if not quantities:
            raise InvalidCommandError("name at least one line to return")
        for line_id, quantity in quantities.items():
            self._require_line(line_id)
            _require_positive(quantity, line_id)
            if quantity > self.returnable(line_id):
                raise OrderStateError(
                    f"line {line_id} of order {self.id} has {self.returnable(line_id)} item(s) "
                    f"handed over and not yet returned, {quantity} cannot be returned",
                    order_id=str(self.id),
                    line_id=line_id,
                    returnable=self.returnable(line_id),
                )
        rma_id = f"R{len(self.returns) + 1}"
        self.trigger_event(self.ReturnRequested, rma_id=rma_id, lines=dict(quantities), trace=trace)
        return rma_id

    def receive_return(
        self,
        rma_id: str,
        location: str,
        restocked: Mapping[str, int],
        damaged: Mapping[str, int],
        trace: Trace,
    ) -> ReturnAuthorisation:
        """The items came back at `location`: some go back on the shelf, some are damaged."""
        rma = self._require_return(rma_id, {REQUESTED}, "received")
        for line_id in {*restocked, *damaged}:
            back = restocked.get(line_id, 0) + damaged.get(line_id, 0)
            if min(restocked.get(line_id, 0), damaged.get(line_id, 0)) < 0:
                raise InvalidCommandError(
                    f"returned quantities of line {line_id} cannot be negative"
                )
            if back > rma.lines.get(line_id, 0):
                raise InvalidCommandError(
                    f"return {rma_id} asked for {rma.lines.get(line_id, 0)} item(s) of line "
                    f"{line_id}, {back} cannot be received"
                )
        if sum(restocked.values()) + sum(damaged.values()) == 0:
            raise InvalidCommandError(f"return {rma_id} received nothing: name the items back")
        self.trigger_event(
            self.ReturnReceived,
            rma_id=rma_id,
            location=location,
            restocked={k: v for k, v in restocked.items() if v},
            damaged={k: v for k, v in damaged.items() if v},
            trace=trace,
        )
        return self.returns[rma_id]

    def refund_return(self, rma_id: str, amount: Decimal, trace: Trace) -> None:
        """The refund for a received return: at most what its items were sold for."""
        rma = self._require_return(rma_id, {RECEIVED}, "refunded")
        if amount < 0:
            raise InvalidCommandError(f"a refund cannot be negative, got {amount}")
        back = {**rma.restocked}
        for line_id, n in rma.damaged.items():
            back[line_id] = back.get(line_id, 0) + n
        worth = sum((self.lines[i].unit_price * n for i, n in back.items()), Decimal(0))
        if amount > worth:
            raise InvalidCommandError(
                f"return {rma_id} brought back items sold for {worth} {self.currency}: "
                f"a refund of {amount} {self.currency} is more than that"
            )
        self.trigger_event(self.ReturnRefunded, rma_id=rma_id, amount=amount, trace=trace)

    # --- access -------------------------------------------------------------------------

    def require_authority(self, authority: Authority, verb: str) -> None:
        """Only the channel that placed it acts on it (unless the authority spans channels),
        and staff only where every fulfilment order of it is."""
        places = (f.location for f in self.fulfilments.values())
        refusal = authority.refusal(self.channel, places)
        if refusal is not None:
            raise NotPermittedError(
                f"order {self.id} cannot be {verb} by this caller: {refusal}",
                order_id=str(self.id),
            )

    def hold_id(self, fulfilment_id: str) -> UUID:
        """The reservation id under which a fulfilment order holds its stock, so that
        withdrawing it releases exactly its units (`Stock.release`)."""
        return fulfilment_hold_id(self.id, fulfilment_id)

    def fulfilment(self, fulfilment_id: str) -> Fulfilment:
        try:
            return self.fulfilments[fulfilment_id]
        except KeyError:
            raise UnknownFulfilmentError(
                f"order {self.id} has no fulfilment order {fulfilment_id!r}; it has "
                f"{sorted(self.fulfilments) or 'none'}",
                order_id=str(self.id),
                fulfilment_id=fulfilment_id,
            ) from None

    # --- rules --------------------------------------------------------------------------

    def _progress(
        self,
        event: type[FulfilmentProgressed],
        fulfilment_id: str,
        allowed: set[str],
        method: str | None,
        trace: Trace,
    ) -> Fulfilment:
        fulfilment = self.fulfilment(fulfilment_id)
        if method is not None and fulfilment.method != method:
            raise OrderStateError(
                f"fulfilment order {fulfilment_id} of order {self.id} is a {fulfilment.method} "
                f"fulfilment and cannot become {event.reaches}: expected a {method} fulfilment",
                order_id=str(self.id),
                fulfilment_id=fulfilment_id,
                status=fulfilment.status,
                method=fulfilment.method,
            )
        if fulfilment.status not in allowed:
            raise OrderStateError(
                f"fulfilment order {fulfilment_id} of order {self.id} is {fulfilment.status} "
                f"and cannot become {event.reaches}: expected it {' or '.join(sorted(allowed))}",
                order_id=str(self.id),
                fulfilment_id=fulfilment_id,
                status=fulfilment.status,
                expected=sorted(allowed),
            )
        self.trigger_event(event, fulfilment_id=fulfilment_id, trace=trace)
        return fulfilment

    def _take_back(
        self, line_id: str, sku: str, units: int, first: str | None = None
    ) -> list[dict[str, Any]]:
        """Units of a line taken out of the fulfilment orders not yet handed over (`first`
        first, then the last made first), and in each the batches that expire last first
        (FEFO keeps the rest)."""
        removed: list[dict[str, Any]] = []
        latest = list(reversed(self.fulfilments.values()))
        ordered = [f for f in latest if f.fulfilment_id == first]
        for fulfilment in [*ordered, *(f for f in latest if f.fulfilment_id != first)]:
            if units == 0:
                break
            if fulfilment.status not in CANCELLABLE:
                continue
            here = min(units, fulfilment.units(line_id, sku))
            if here == 0:
                continue
            removed.append(_removal(fulfilment, line_id, sku, here))
            units -= here
        if units:
            raise OrderStateError(
                f"line {line_id} of order {self.id} has only "
                f"{sum(r['quantity'] for r in removed)} unit(s) of {sku} not yet shipped; "
                f"{units} more are shipped or collected and cannot be cancelled: return them",
                order_id=str(self.id),
                line_id=line_id,
                status=self.status,
            )
        return removed

    def _require_open_fulfilment(self, fulfilment_id: str, verb: str) -> Fulfilment:
        fulfilment = self.fulfilment(fulfilment_id)
        if self.cancelled or fulfilment.status != OPEN:
            raise OrderStateError(
                f"fulfilment order {fulfilment_id} of order {self.id} is {fulfilment.status} "
                f"and cannot be {verb}: expected it {OPEN} (not yet picked)",
                order_id=str(self.id),
                fulfilment_id=fulfilment_id,
                status=fulfilment.status,
            )
        return fulfilment

    def _require_status(self, allowed: set[str], verb: str) -> None:
        if self.status not in allowed:
            raise OrderStateError(
                f"order {self.id} is {self.status} and cannot be {verb}: expected it "
                f"{' or '.join(sorted(allowed))}",
                order_id=str(self.id),
                status=self.status,
                expected=sorted(allowed),
            )

    def _require_not_started(self, verb: str) -> None:
        self._require_status({PLACED, SOURCED}, verb)

    def _require_cancellable(self, verb: str) -> list[Fulfilment]:
        """The fulfilment orders to withdraw, when none has been handed over yet."""
        live = [f for f in self.fulfilments.values() if f.status != CANCELLED]
        gone = [f for f in live if f.status not in CANCELLABLE]
        if gone:
            states = ", ".join(f"{f.fulfilment_id} {f.status}" for f in gone)
            raise OrderStateError(
                f"order {self.id} cannot be {verb}: fulfilment orders {states}; expected every "
                f"fulfilment order {' or '.join(sorted(CANCELLABLE))} (cancel lines not yet "
                "shipped, or return what was)",
                order_id=str(self.id),
                status=self.status,
                fulfilments={f.fulfilment_id: f.status for f in gone},
            )
        return live

    def _require_payment(self, allowed: set[str], verb: str) -> None:
        if self.payment.status not in allowed:
            raise OrderStateError(
                f"the payment of order {self.id} is {self.payment.status} and cannot be "
                f"{verb}: expected it {' or '.join(sorted(allowed))}",
                order_id=str(self.id),
                payment=self.payment.status,
                expected=sorted(allowed),
            )

    def _require_line(self, line_id: str) -> OrderLine:
        line = self.lines.get(line_id)
        if line is None:
            raise InvalidCommandError(
                f"order {self.id} has no line {line_id!r}: expected one of {sorted(self.lines)}",
                order_id=str(self.id),
                line_id=line_id,
            )
        return line

    def _require_open_line(self, line_id: str) -> OrderLine:
        line = self._require_line(line_id)
        if line.open == 0:
            raise OrderStateError(
                f"line {line_id} of order {self.id} is cancelled: expected an open line",
                order_id=str(self.id),
                line_id=line_id,
                status=CANCELLED,
            )
        return line

    def _require_return(self, rma_id: str, allowed: set[str], verb: str) -> ReturnAuthorisation:
        rma = self.returns.get(rma_id)
        if rma is None:
            raise InvalidCommandError(
                f"order {self.id} has no return {rma_id!r}: expected one of "
                f"{sorted(self.returns) or 'none'}",
                order_id=str(self.id),
                rma_id=rma_id,
            )
        if rma.status not in allowed:
            raise OrderStateError(
                f"return {rma_id} of order {self.id} is {rma.status} and cannot be {verb}: "
                f"expected it {' or '.join(sorted(allowed))}",
                order_id=str(self.id),
                rma_id=rma_id,
                status=rma.status,
                expected=sorted(allowed),
            )
        return rma


def _new_line(line_id: str, sku: str, quantity: int, unit_price: Decimal) -> dict[str, Any]:
    _require_positive(quantity, line_id)
    if unit_price < 0:
        raise InvalidCommandError(f"unit price of {sku} cannot be negative, got {unit_price}")
    return {"line_id": line_id, "sku": sku, "quantity": quantity, "unit_price": unit_price}


def _removal(fulfilment: Fulfilment, line_id: str, sku: str, units: int) -> dict[str, Any]:
    """`units` of a line's SKU out of a fulfilment order, the batches that expire last first."""
    batches: dict[str, int] = {}
    need = units
    for item in fulfilment.lines:
        if item["line_id"] != line_id or item["sku"] != sku:
            continue
        for number, n in reversed(item["batches"].items()):
            take = min(n - batches.get(number, 0), need)
            if take > 0:
                batches[number] = batches.get(number, 0) + take
                need -= take
    return {
        "fulfilment_id": fulfilment.fulfilment_id,
        "line_id": line_id,
        "sku": sku,
        "quantity": units,
        "batches": batches,
    }


def _without(items: list[dict[str, Any]], removal: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A fulfilment order's lines with a removal's units and batches taken out (new dicts)."""
    kept = []
    batches = dict(removal["batches"])
    units = removal["quantity"]
    for item in items:
        if item["line_id"] != removal["line_id"] or item["sku"] != removal["sku"] or not units:
            kept.append(item)
            continue
        left = {}
        for number, n in item["batches"].items():
            gone = min(n, batches.get(number, 0))
            batches[number] = batches.get(number, 0) - gone
            if n - gone:
                left[number] = n - gone
        taken = min(item["quantity"], units)
        units -= taken
        if item["quantity"] - taken:
            kept.append({**item, "quantity": item["quantity"] - taken, "batches": left})
    return kept


def _require_positive(quantity: int, line_id: str) -> None:
    if quantity <= 0:
        raise InvalidCommandError(
            f"quantity must be a positive whole number, got {quantity} for line {line_id}"
        )


def _require_amount(amount: Decimal, what: str) -> None:
    if not amount.is_finite() or amount <= 0:
        raise InvalidCommandError(f"{what} must be a positive amount, got {amount}")
