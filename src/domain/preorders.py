"""Pre-orders (backorders): units promised against an announced incoming shipment.

Per SKU and channel a `PreorderSwitch` says whether the channel may take them. A `Preorder`
waits on its shipment (the stock keeps the queue, in the order pre-orders were placed, and
never promises more than the shipment brings); when the shipment is received, waiting
pre-orders are allocated in placement order, FEFO (each an event on the stock and on the
pre-order). A late shipment tells each waiting pre-order its new day (it keeps waiting); a
cancelled one releases them. An allocated pre-order holds its units like a reservation until
its channel confirms it into a sale or releases it.

waiting -> allocated -> confirmed | released;  waiting -> released (its channel, or the
shipment cancelled).
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.commands import Authority
from domain.errors import NotPermittedError, PreorderStateError
from domain.ids import preorder_switch_id
from domain.trace import Trace

WAITING = "waiting"
ALLOCATED = "allocated"
CONFIRMED = "confirmed"
RELEASED = "released"


def _switch(aggregate: Aggregate) -> PreorderSwitch:
    assert isinstance(aggregate, PreorderSwitch)
    return aggregate


def _preorder(aggregate: Aggregate) -> Preorder:
    assert isinstance(aggregate, Preorder)
    return aggregate


class PreorderSwitch(Aggregate):
    """May `channel` take pre-orders of `sku`? Off until switched on."""

    class Opened(Aggregate.Created):
        sku: str
        channel: str

    class Switched(Aggregate.Event):
        allowed: bool
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            _switch(aggregate).allowed = self.allowed

    def __init__(self, sku: str, channel: str) -> None:
        self.sku = sku
        self.channel = channel
        self.allowed = False

    @classmethod
    def create_id(cls, sku: str, channel: str, **_: Any) -> UUID:
        return preorder_switch_id(sku, channel)

    @classmethod
    def open(cls, sku: str, channel: str) -> PreorderSwitch:
        return cls._create(cls.Opened, sku=sku, channel=channel)

    def switch(self, allowed: bool, trace: Trace) -> None:
        if allowed != self.allowed or self.version == 1:
            self.trigger_event(self.Switched, allowed=allowed, trace=trace)

    def as_dict(self) -> dict[str, Any]:
        return {"sku": self.sku, "channel": self.channel, "preorders": self.allowed}


class Preorder(Aggregate):
    class Placed(Aggregate.Created):
        sku: str
        location: str
        shipment_ref: str
        quantity: int
        trace: Trace

    class Allocated(Aggregate.Event):
        allocations: dict[str, int]
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            preorder = _preorder(aggregate)
            preorder.status, preorder.allocations = ALLOCATED, dict(self.allocations)

    class ShipmentDelayed(Aggregate.Event):
        """Its shipment comes later: the pre-order keeps waiting, until `expected_on`."""

        expected_on: date
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            _preorder(aggregate).expected_on = self.expected_on

    class ShipmentCancelled(Aggregate.Event):
        """Its shipment will not come: released."""

        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            _preorder(aggregate).status = RELEASED

    class Confirmed(Aggregate.Event):
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            _preorder(aggregate).status = CONFIRMED

    class Released(Aggregate.Event):
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            _preorder(aggregate).status = RELEASED

    def __init__(
        self, sku: str, location: str, shipment_ref: str, quantity: int, trace: Trace
    ) -> None:
        self.sku = sku
        self.location = location
        self.shipment_ref = shipment_ref
        self.quantity = quantity
        self.channel = trace.channel
        self.customer_id = trace.customer_id  # its sale is theirs: they may return it
        self.status = WAITING
        self.allocations: dict[str, int] = {}
        self.expected_on: date | None = None  # set when the shipment is late

    @classmethod
    def place(
        cls,
        preorder_id: UUID,
        sku: str,
        location: str,
        shipment_ref: str,
        quantity: int,
        trace: Trace,
    ) -> Preorder:
        return cls._create(
            cls.Placed,
            id=preorder_id,
            sku=sku,
            location=location,
            shipment_ref=shipment_ref,
            quantity=quantity,
            trace=trace,
        )

    def allocate(self, allocations: dict[str, int], trace: Trace) -> None:
        self.trigger_event(self.Allocated, allocations=allocations, trace=trace)

    def delay(self, expected_on: date, trace: Trace) -> None:
        self.trigger_event(self.ShipmentDelayed, expected_on=expected_on, trace=trace)

    def cancel_shipment(self, trace: Trace) -> None:
        self.trigger_event(self.ShipmentCancelled, trace=trace)

    def confirm(self, trace: Trace) -> None:
        self._require({ALLOCATED}, "confirmed")
        self.trigger_event(self.Confirmed, trace=trace)

    def release(self, trace: Trace) -> None:
        self._require({WAITING, ALLOCATED}, "released")
        self.trigger_event(self.Released, trace=trace)

    def require_authority(self, authority: Authority, verb: str) -> None:
        refusal = authority.refusal(self.channel, [self.location])
        if refusal is not None:
            raise NotPermittedError(
                f"pre-order {self.id} cannot be {verb} by this caller: {refusal}",
                preorder_id=str(self.id),
            )

    def as_dict(self) -> dict[str, Any]:
        return {
            "preorder_id": str(self.id),
            "status": self.status,
            "sku": self.sku,
            "location": self.location,
            "shipment_ref": self.shipment_ref,
            "quantity": self.quantity,
            "allocations": self.allocations,
            "expected_on": None if self.expected_on is None else self.expected_on.isoformat(),
            "channel": self.channel,
            "version": self.version,
        }

    def _require(self, allowed: set[str], verb: str) -> None:
        if self.status not in allowed:
            raise PreorderStateError(
                f"pre-order {self.id} is {self.status} and cannot be {verb}: expected it "
                f"{' or '.join(sorted(allowed))}",
                preorder_id=str(self.id),
                status=self.status,
                expected=sorted(allowed),
            )
