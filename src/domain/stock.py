"""Stock of one SKU at one location: batches, reservations held, incoming shipments.

Command methods decide (validate, then trigger an event); each event's `apply` only mutates,
so replaying history never re-runs a rule.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.batch import ACTIVE, QUARANTINED, RECALLED, Batch, allocate_fefo
from domain.dating import require_expected_on, require_expiry
from domain.errors import (
    AlreadyExistsError,
    BatchMismatchError,
    BatchNotSellableError,
    InsufficientStockError,
    InvalidCommandError,
    UnknownBatchError,
    UnknownShipmentError,
    UnknownTransferError,
)
from domain.ids import stock_id
from domain.returns import ReturnBook
from domain.trace import Trace


def _stock(aggregate: Aggregate) -> Stock:
    assert isinstance(aggregate, Stock)
    return aggregate


class Stock(Aggregate):
    # 2: keeps a ReturnBook (what was sold here and may come back); see upcast_v1_v2.
    # 3: keeps transfers in transit to it and pre-orders waiting on shipments; upcast_v2_v3.
    class_version = 3

    class Opened(Aggregate.Created):
        sku: str
        location: str

    class BatchReceived(Aggregate.Event):
        batch: str
        expiry: date
        quantity: int
        shipment_ref: str | None
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            stock = _stock(aggregate)
            batch = stock.batches.setdefault(self.batch, Batch(self.batch, self.expiry))
            batch.on_hand += self.quantity
            stock.counters["received"] += self.quantity
            if self.shipment_ref in stock.waiting:
                arrived = stock.arrived.get(self.shipment_ref, 0) + self.quantity
                stock.arrived = {**stock.arrived, self.shipment_ref: arrived}
            stock.settle_incoming(self.shipment_ref, self.quantity)

    class IncomingShipmentExpected(Aggregate.Event):
        shipment_ref: str
        quantity: int
        expected_on: date
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            stock = _stock(aggregate)
            stock.incoming[self.shipment_ref] = self.quantity

    class Reserved(Aggregate.Event):
        reservation_id: UUID
        allocations: dict[str, int]
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            _stock(aggregate).add_hold(self.reservation_id, self.allocations)

    class ReservationReleased(Aggregate.Event):
        reservation_id: UUID
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            _stock(aggregate).drop_hold(self.reservation_id)

    class HoldReduced(Aggregate.Event):
        """Part of a hold given back (an order's lines cancelled before they ship): the
        named units of the named batches; the rest of the hold stays."""

        reservation_id: UUID
        allocations: dict[str, int]
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            stock = _stock(aggregate)
            held = dict(stock.holds[self.reservation_id.hex])
            for number, quantity in self.allocations.items():
                stock.batches[number].reserved -= quantity
                held[number] -= quantity
                if held[number] == 0:
                    del held[number]
            if held:
                stock.holds[self.reservation_id.hex] = held  # replaced, never changed in place
            else:
                del stock.holds[self.reservation_id.hex]

    class ReservationExpired(Aggregate.Event):
        reservation_id: UUID
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            _stock(aggregate).drop_hold(self.reservation_id)

    class Sold(Aggregate.Event):
        reservation_id: UUID | None
        allocations: dict[str, int]
        unit_price: Decimal
        currency: str
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            stock = _stock(aggregate)
            if self.reservation_id is not None:
                stock.drop_hold(self.reservation_id)
            for number, quantity in self.allocations.items():
                stock.batches[number].on_hand -= quantity
                stock.counters["sold"] += quantity
            stock.returns = stock.returns.sold(self.allocations, self.trace.customer_id)

    class Returned(Aggregate.Event):
        batch: str
        expiry: date
        quantity: int
        restocked: bool
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            stock = _stock(aggregate)
            if self.restocked:
                batch = stock.batches.setdefault(self.batch, Batch(self.batch, self.expiry))
                batch.on_hand += self.quantity
                stock.counters["restocked"] += self.quantity
            else:
                stock.counters["returned_damaged"] += self.quantity
            stock.returns = stock.returns.returned(
                self.batch, self.quantity, self.trace.customer_id
            )

    class Adjusted(Aggregate.Event):
        batch: str
        delta: int
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            stock = _stock(aggregate)
            stock.batches[self.batch].on_hand += self.delta
            stock.counters["adjusted"] += self.delta

    class TransferredOut(Aggregate.Event):
        transfer_id: UUID
        to_location: str
        allocations: dict[str, int]
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            stock = _stock(aggregate)
            for number, quantity in self.allocations.items():
                stock.batches[number].on_hand -= quantity
                stock.counters["transferred_out"] += quantity

    class TransferredIn(Aggregate.Event):
        transfer_id: UUID
        from_location: str
        batches_in: dict[str, dict[str, Any]]
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            _stock(aggregate).take_in(self.batches_in)

    class BatchQuarantined(Aggregate.Event):
        batch: str
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            _stock(aggregate).batches[self.batch].status = QUARANTINED

    class BatchQuarantineLifted(Aggregate.Event):
        batch: str
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            _stock(aggregate).batches[self.batch].status = ACTIVE

    class BatchRecalled(Aggregate.Event):
        batch: str
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            _stock(aggregate).batches[self.batch].status = RECALLED

    class HoldMoved(Aggregate.Event):
        """A reservation's units held here now belong to another hold (an order's
        fulfilment order), with no moment at which they were free."""

        reservation_id: UUID
        to_hold_id: UUID
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            stock = _stock(aggregate)
            moved = stock.holds.pop(self.reservation_id.hex)
            stock.holds[self.to_hold_id.hex] = moved

    # --- transfers in transit (sent here, not yet received) --------------------------------

    class TransferDispatched(Aggregate.Event):
        """Units sent here from another location: on the way, visible, not sellable."""

        transfer_id: UUID
        from_location: str
        batches_in: dict[str, dict[str, Any]]
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            stock = _stock(aggregate)
            on_the_way = {"from_location": self.from_location, "batches": self.batches_in}
            stock.in_transit = {**stock.in_transit, self.transfer_id.hex: on_the_way}

    class TransferReceived(Aggregate.Event):
        """What arrived of a transfer in transit; `shortfall` per batch never arrived."""

        transfer_id: UUID
        from_location: str
        batches_in: dict[str, dict[str, Any]]
        shortfall: dict[str, int]
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            stock = _stock(aggregate)
            stock.in_transit = {
                k: v for k, v in stock.in_transit.items() if k != self.transfer_id.hex
            }
            stock.take_in(self.batches_in)

    # --- pre-orders against an announced incoming shipment ---------------------------------

    class PreorderTaken(Aggregate.Event):
        preorder_id: UUID
        shipment_ref: str
        quantity: int
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            stock = _stock(aggregate)
            queue = {
                **stock.waiting.get(self.shipment_ref, {}),
                self.preorder_id.hex: self.quantity,
            }
            stock.waiting = {**stock.waiting, self.shipment_ref: queue}

    class PreorderAllocated(Aggregate.Event):
        """A waiting pre-order holds units of what its shipment brought (FEFO)."""

        preorder_id: UUID
        shipment_ref: str
        allocations: dict[str, int]
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            stock = _stock(aggregate)
            stock.stop_waiting(self.shipment_ref, self.preorder_id)
            left = stock.arrived.get(self.shipment_ref, 0) - sum(self.allocations.values())
            stock.arrived = {**stock.arrived, self.shipment_ref: left}
            stock.add_hold(self.preorder_id, self.allocations)

    class PreorderWithdrawn(Aggregate.Event):
        """A waiting pre-order no longer waits (released by its channel)."""

        preorder_id: UUID
        shipment_ref: str
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            _stock(aggregate).stop_waiting(self.shipment_ref, self.preorder_id)

    class IncomingShipmentDelayed(Aggregate.Event):
        """The shipment comes later than announced; pre-orders on it keep waiting."""

        shipment_ref: str
        expected_on: date
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            pass  # the expected day is a fact for the pre-orders and read models

    class IncomingShipmentCancelled(Aggregate.Event):
        """The shipment will not come: its pre-orders still waiting are released."""

        shipment_ref: str
        released: list[UUID]
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            stock = _stock(aggregate)
            ref = self.shipment_ref
            stock.incoming = {k: v for k, v in stock.incoming.items() if k != ref}
            stock.waiting = {k: v for k, v in stock.waiting.items() if k != ref}
            stock.arrived = {k: v for k, v in stock.arrived.items() if k != ref}

    # --- late till sales that found their units held or gone -------------------------------

    class ShortageRecorded(Aggregate.Event):
        """A till sold units the books had given to holds (or no longer held): the holds
        named are short by these units until a transfer brings more. Counts nothing itself:
        the till's `Sold` did."""

        quantity: int
        holds: dict[str, int]  # hold id (hex) -> units it is short; "" for units not held
        till: str
        seq: int
        transfer_from: str | None  # a location that has the units free, if any
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            stock = _stock(aggregate)
            stock.counters["till_shortage"] = stock.counters.get("till_shortage", 0) + self.quantity

    def __init__(self, sku: str, location: str) -> None:
        self.sku = sku
        self.location = location
        self.batches: dict[str, Batch] = {}
        self.holds: dict[str, dict[str, int]] = {}
        self.incoming: dict[str, int] = {}
        self.in_transit: dict[str, dict[str, Any]] = {}  # transfer id (hex) -> from, batches
        self.waiting: dict[str, dict[str, int]] = {}  # shipment -> pre-order (hex) -> units
        self.arrived: dict[str, int] = {}  # shipment -> units received, not yet pre-ordered
        self.counters: dict[str, int] = dict.fromkeys(
            (
                "received",
                "sold",
                "restocked",
                "returned_damaged",
                "adjusted",
                "transferred_out",
                "transferred_in",
            ),
            0,
        )
        self.returns = ReturnBook()

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """A snapshot taken before stock kept its return book: what was sold before it is not
        known, so those units come back only through the back office (an unlinked return).
        On PostgreSQL migration 0009 drops such snapshots, so the book is rebuilt from the
        sales themselves."""
        state["returns"] = ReturnBook()

    @staticmethod
    def upcast_v2_v3(state: dict[str, Any]) -> None:
        """A snapshot taken before transfers in transit and pre-orders: it had none."""
        state["in_transit"], state["waiting"], state["arrived"] = {}, {}, {}

    @classmethod
    def create_id(cls, sku: str, location: str, **_: Any) -> UUID:
        return stock_id(sku, location)

    def __deepcopy__(self, memo: dict[int, Any]) -> Stock:
        """A copy as independent as a deep copy, at the cost of one dict copy for the holds.

        A hot SKU holds thousands of open reservations, and every command runs on a copy; the
        inner dict of each hold is replaced, never changed in place, so sharing it is safe.
        """
        clone = object.__new__(Stock)
        clone.__dict__.update(self.__dict__)
        clone.batches = {n: replace(b) for n, b in self.batches.items()}
        clone.holds = dict(self.holds)
        clone.incoming = dict(self.incoming)
        clone.counters = dict(self.counters)
        # in_transit, waiting and arrived are replaced on every change, never changed in place;
        # self.returns is immutable (every change makes a new book): shared as it is.
        clone.__dict__["_pending_events"] = list(self.__dict__.get("_pending_events", []))
        memo[id(self)] = clone
        return clone

    @classmethod
    def open(cls, sku: str, location: str) -> Stock:
        return cls._create(cls.Opened, sku=sku, location=location)

    # --- mutations shared by several events' apply ---------------------------------------

    def drop_hold(self, reservation_id: UUID) -> None:
        for number, quantity in self.holds.pop(reservation_id.hex, {}).items():
            self.batches[number].reserved -= quantity

    def add_hold(self, reservation_id: UUID, allocations: dict[str, int]) -> None:
        held = dict(self.holds.get(reservation_id.hex, {}))
        for number, quantity in allocations.items():
            self.batches[number].reserved += quantity
            held[number] = held.get(number, 0) + quantity
        self.holds[reservation_id.hex] = held  # replaced, never changed in place

    def take_in(self, batches_in: dict[str, dict[str, Any]]) -> None:
        """Units of batches arriving from another location, their status kept."""
        for number, line in batches_in.items():
            expiry = date.fromisoformat(line["expiry"])
            batch = self.batches.setdefault(number, Batch(number, expiry))
            batch.on_hand += line["quantity"]
            if line["status"] != ACTIVE and batch.status == ACTIVE:
                batch.status = line["status"]
            self.counters["transferred_in"] += line["quantity"]

    def stop_waiting(self, shipment_ref: str, preorder_id: UUID) -> None:
        queue = {
            k: v for k, v in self.waiting.get(shipment_ref, {}).items() if k != preorder_id.hex
        }
        self.waiting = {k: v for k, v in self.waiting.items() if k != shipment_ref}
        if queue:
            self.waiting[shipment_ref] = queue
        else:
            self.arrived = {k: v for k, v in self.arrived.items() if k != shipment_ref}

    def settle_incoming(self, shipment_ref: str | None, quantity: int) -> None:
        if shipment_ref is None or shipment_ref not in self.incoming:
            return
        left = self.incoming[shipment_ref] - quantity
        if left > 0:
            self.incoming[shipment_ref] = left
        else:
            del self.incoming[shipment_ref]

    # --- queries -----------------------------------------------------------------------

    def available(self, today: date) -> int:
        return sum(b.available(today) for b in self.batches.values())

    def units_in_transit(self) -> int:
        return sum(
            line["quantity"]
            for on_the_way in self.in_transit.values()
            for line in on_the_way["batches"].values()
        )

    def preorderable(self, shipment_ref: str) -> int:
        """Units of an announced shipment not yet promised to a waiting pre-order: still
        incoming, or received while pre-orders waited and not yet given to one."""
        coming = self.incoming.get(shipment_ref, 0) + self.arrived.get(shipment_ref, 0)
        return max(0, coming - sum(self.waiting.get(shipment_ref, {}).values()))

    def holds_reservation(self, reservation_id: UUID) -> bool:
        return reservation_id.hex in self.holds

    def summary(self, today: date) -> dict[str, Any]:
        batches = self.batches.values()
        return {
            "sku": self.sku,
            "location": self.location,
            "version": self.version,
            "on_hand": sum(b.on_hand for b in batches),
            "reserved": sum(b.reserved for b in batches),
            "available": self.available(today),
            "quarantined": sum(b.on_hand for b in batches if b.status == QUARANTINED),
            "recalled": sum(b.on_hand for b in batches if b.status == RECALLED),
            "expired": sum(b.on_hand for b in batches if b.is_expired(today)),
            "incoming": sum(self.incoming.values()),
            "in_transit": self.units_in_transit(),
            "preordered": sum(sum(q.values()) for q in self.waiting.values()),
            "next_expiry": min(
                (b.expiry.isoformat() for b in batches if b.available(today) > 0), default=None
            ),
            "batches": [
                {**b.as_dict(), "available": b.available(today)}
                for b in sorted(batches, key=lambda b: (b.expiry, b.number))
            ],
        }

    # --- commands ----------------------------------------------------------------------

    def receive(
        self, batch: str, expiry: date, quantity: int, shipment_ref: str | None, trace: Trace
    ) -> None:
        _require_positive(quantity)
        require_expiry(expiry, trace.occurred_at.date())
        self._require_same_expiry(batch, expiry)
        self.trigger_event(
            self.BatchReceived,
            batch=batch,
            expiry=expiry,
            quantity=quantity,
            shipment_ref=shipment_ref,
            trace=trace,
        )

    def expect_shipment(
        self, shipment_ref: str, quantity: int, expected_on: date, trace: Trace
    ) -> None:
        _require_positive(quantity)
        require_expected_on(expected_on, trace.occurred_at.date())
        self.trigger_event(
            self.IncomingShipmentExpected,
            shipment_ref=shipment_ref,
            quantity=quantity,
            expected_on=expected_on,
            trace=trace,
        )

    def reserve(
        self, reservation_id: UUID, quantity: int, trace: Trace, batch: str | None = None
    ) -> dict[str, int]:
        """Hold units from the named batch, or first-expired-first-out."""
        allocations = self._allocate_line(quantity, batch, trace.occurred_at.date())
        self.trigger_event(
            self.Reserved, reservation_id=reservation_id, allocations=allocations, trace=trace
        )
        return allocations

    def hold(self, reservation_id: UUID, allocations: dict[str, int], trace: Trace) -> None:
        """Hold exactly these units of these batches (a sourcing decision chose them)."""
        today = trace.occurred_at.date()
        for number, quantity in allocations.items():
            self._allocate_line(quantity, number, today)
        self.trigger_event(
            self.Reserved, reservation_id=reservation_id, allocations=allocations, trace=trace
        )

    def reduce_hold(self, reservation_id: UUID, allocations: dict[str, int], trace: Trace) -> None:
        """Give back part of a hold: units of batches it holds, no more than it holds."""
        held = self.holds.get(reservation_id.hex, {})
        for number, quantity in allocations.items():
            _require_positive(quantity)
            if quantity > held.get(number, 0):
                raise InvalidCommandError(
                    f"hold {reservation_id} has {held.get(number, 0)} unit(s) of batch "
                    f"{number!r} of {self.sku} at {self.location}, {quantity} cannot be given back",
                    sku=self.sku,
                    location=self.location,
                    batch=number,
                )
        if sum(allocations.values()) == sum(held.values()):
            self.release(reservation_id, trace)
        else:
            self.trigger_event(
                self.HoldReduced,
                reservation_id=reservation_id,
                allocations=allocations,
                trace=trace,
            )

    def release(self, reservation_id: UUID, trace: Trace) -> None:
        if self.holds_reservation(reservation_id):
            self.trigger_event(self.ReservationReleased, reservation_id=reservation_id, trace=trace)

    def expire(self, reservation_id: UUID, trace: Trace) -> None:
        if self.holds_reservation(reservation_id):
            self.trigger_event(self.ReservationExpired, reservation_id=reservation_id, trace=trace)

    def move_hold(self, reservation_id: UUID, to_hold_id: UUID, trace: Trace) -> dict[str, int]:
        """Hand what a reservation holds here to another hold; returns the units per batch."""
        held = self.holds.get(reservation_id.hex)
        if held is None or to_hold_id.hex in self.holds:
            raise InvalidCommandError(
                f"reservation {reservation_id} holds nothing of {self.sku} at {self.location} "
                "to move, or the new hold exists already"
            )
        self.trigger_event(
            self.HoldMoved, reservation_id=reservation_id, to_hold_id=to_hold_id, trace=trace
        )
        return held

    def sell_reserved(
        self, reservation_id: UUID, unit_price: Decimal, currency: str, trace: Trace
    ) -> dict[str, int]:
        """Sell what the reservation holds here, swapping out units of batches that stopped
        being sellable (expired, quarantined, recalled) for sellable ones, first-expired-first."""
        today = trace.occurred_at.date()
        held = self.holds.get(reservation_id.hex, {})
        allocations = {n: q for n, q in held.items() if self.batches[n].is_sellable(today)}
        missing = sum(held.values()) - sum(allocations.values())
        if missing:
            # Units still held in sellable batches stay reserved, so they are not offered twice.
            replacements = allocate_fefo(list(self.batches.values()), missing, today)
            for number, quantity in replacements.items():
                allocations[number] = allocations.get(number, 0) + quantity
            if sum(allocations.values()) < sum(held.values()):
                raise BatchNotSellableError(
                    f"reservation holds {missing} unit(s) of {self.sku} at {self.location} "
                    "in batches that can no longer be sold (expired, quarantined or recalled) "
                    "and no sellable stock is free to replace them",
                    sku=self.sku,
                    location=self.location,
                    unsellable=missing,
                )
        self.trigger_event(
            self.Sold,
            reservation_id=reservation_id,
            allocations=allocations,
            unit_price=unit_price,
            currency=currency,
            trace=trace,
        )
        return allocations

    def sell(
        self, quantity: int, batch: str | None, unit_price: Decimal, currency: str, trace: Trace
    ) -> dict[str, int]:
        """A direct sale (a POS till): from the named batch, or first-expired-first-out."""
        allocations = self._allocate_line(quantity, batch, trace.occurred_at.date())
        self.trigger_event(
            self.Sold,
            reservation_id=None,
            allocations=allocations,
            unit_price=unit_price,
            currency=currency,
            trace=trace,
        )
        return allocations

    def accept_return(
        self,
        batch: str,
        expiry: date | None,
        quantity: int,
        restock: bool,
        trace: Trace,
        *,
        back_office: bool = False,
    ) -> None:
        """A return of units sold here (to the customer, if one is named), up to what was sold
        and not yet returned; beyond that only the back office, and only with a reason."""
        _require_positive(quantity)
        if expiry is not None:
            require_expiry(expiry, trace.occurred_at.date())
        if quantity > self.returns.returnable(batch, trace.customer_id):
            self._require_unlinked_return_allowed(batch, quantity, trace, back_office)
        known = self.batches.get(batch)
        if known is not None and expiry is not None and known.expiry != expiry:
            self._require_same_expiry(batch, expiry)
        resolved = known.expiry if known is not None else expiry
        if resolved is None:
            raise UnknownBatchError(
                f"batch {batch!r} was never held at {self.location}; "
                "give its expiry date to take the return",
                sku=self.sku,
                location=self.location,
                batch=batch,
            )
        self.trigger_event(
            self.Returned,
            batch=batch,
            expiry=resolved,
            quantity=quantity,
            restocked=restock,
            trace=trace,
        )

    def adjust(self, batch: str, delta: int, trace: Trace) -> None:
        if delta == 0:
            raise InvalidCommandError("an adjustment must change the count: delta was 0")
        found = self._batch(batch)
        if found.on_hand + delta < found.reserved:
            raise InsufficientStockError(
                f"adjusting batch {batch!r} of {self.sku} at {self.location} by {delta} would "
                f"leave {found.on_hand + delta} on hand for {found.reserved} reserved; release "
                "reservations first",
                sku=self.sku,
                location=self.location,
                batch=batch,
                on_hand=found.on_hand,
                reserved=found.reserved,
            )
        self.trigger_event(self.Adjusted, batch=batch, delta=delta, trace=trace)

    def transfer_out(
        self, transfer_id: UUID, to_location: str, quantity: int, trace: Trace
    ) -> dict[str, dict[str, Any]]:
        allocations = self._allocate(quantity, trace.occurred_at.date())
        self.trigger_event(
            self.TransferredOut,
            transfer_id=transfer_id,
            to_location=to_location,
            allocations=allocations,
            trace=trace,
        )
        return {
            n: {"expiry": self.batches[n].expiry.isoformat(), "quantity": q, "status": ACTIVE}
            for n, q in allocations.items()
        }

    def transfer_in(
        self,
        transfer_id: UUID,
        from_location: str,
        batches_in: dict[str, dict[str, Any]],
        trace: Trace,
    ) -> None:
        for number, line in batches_in.items():
            self._require_same_expiry(number, date.fromisoformat(line["expiry"]))
        self.trigger_event(
            self.TransferredIn,
            transfer_id=transfer_id,
            from_location=from_location,
            batches_in=batches_in,
            trace=trace,
        )

    def quarantine(self, batch: str, trace: Trace) -> None:
        found = self._batch(batch)
        if found.status == RECALLED:
            raise BatchNotSellableError(
                f"batch {batch!r} is recalled; a recall cannot be turned into a quarantine",
                batch=batch,
            )
        if found.status == ACTIVE:
            self.trigger_event(self.BatchQuarantined, batch=batch, trace=trace)

    def lift_quarantine(self, batch: str, trace: Trace) -> None:
        found = self._batch(batch)
        if found.status == RECALLED:
            raise BatchNotSellableError(
                f"batch {batch!r} is recalled; a recall is final", batch=batch
            )
        if found.status == QUARANTINED:
            self.trigger_event(self.BatchQuarantineLifted, batch=batch, trace=trace)

    def recall(self, batch: str, trace: Trace) -> bool:
        found = self.batches.get(batch)
        if found is None or found.status == RECALLED:
            return False
        self.trigger_event(self.BatchRecalled, batch=batch, trace=trace)
        return True

    # --- transfers in transit --------------------------------------------------------------

    def dispatch_in(
        self,
        transfer_id: UUID,
        from_location: str,
        batches_in: dict[str, dict[str, Any]],
        trace: Trace,
    ) -> None:
        """Units sent here (the source recorded them TransferredOut): in transit, not sellable."""
        for number, line in batches_in.items():
            self._require_same_expiry(number, date.fromisoformat(line["expiry"]))
        if transfer_id.hex in self.in_transit:
            raise AlreadyExistsError(
                f"transfer {transfer_id} is already on its way to {self.location}",
                transfer_id=str(transfer_id),
            )
        self.trigger_event(
            self.TransferDispatched,
            transfer_id=transfer_id,
            from_location=from_location,
            batches_in=batches_in,
            trace=trace,
        )

    def receive_transfer(
        self, transfer_id: UUID, arrived: dict[str, int] | None, trace: Trace
    ) -> dict[str, int]:
        """Settle a transfer in transit: `arrived` per batch (None: everything sent); what
        was sent and did not arrive is the shortfall, which is returned."""
        on_the_way = self.in_transit.get(transfer_id.hex)
        if on_the_way is None:
            raise UnknownTransferError(
                f"no transfer {transfer_id} of {self.sku} is in transit to {self.location}; "
                f"in transit: {sorted(self.in_transit) or 'none'}",
                transfer_id=str(transfer_id),
                sku=self.sku,
                location=self.location,
            )
        sent: dict[str, dict[str, Any]] = on_the_way["batches"]
        got = {n: line["quantity"] for n, line in sent.items()} if arrived is None else arrived
        for number, quantity in got.items():
            if number not in sent:
                raise InvalidCommandError(
                    f"batch {number!r} was not sent in transfer {transfer_id}: expected one of "
                    f"{sorted(sent)}"
                )
            if not 0 <= quantity <= sent[number]["quantity"]:
                raise InvalidCommandError(
                    f"{quantity} unit(s) of batch {number!r} cannot have arrived: expected 0 to "
                    f"{sent[number]['quantity']}, the units sent"
                )
        shortfall = {
            n: line["quantity"] - got.get(n, 0)
            for n, line in sent.items()
            if line["quantity"] > got.get(n, 0)
        }
        self.trigger_event(
            self.TransferReceived,
            transfer_id=transfer_id,
            from_location=on_the_way["from_location"],
            batches_in={n: {**sent[n], "quantity": q} for n, q in got.items() if q},
            shortfall=shortfall,
            trace=trace,
        )
        return shortfall

    # --- pre-orders -------------------------------------------------------------------------

    def take_preorder(
        self, preorder_id: UUID, shipment_ref: str, quantity: int, trace: Trace
    ) -> None:
        """Promise units of an announced shipment, up to what is not yet promised."""
        _require_positive(quantity)
        self._require_incoming(shipment_ref)
        left = self.preorderable(shipment_ref)
        if quantity > left:
            raise InsufficientStockError(
                f"only {left} unit(s) of shipment {shipment_ref!r} of {self.sku} at "
                f"{self.location} are left to pre-order, {quantity} requested",
                sku=self.sku,
                location=self.location,
                shipment_ref=shipment_ref,
                requested=quantity,
                available=left,
            )
        self.trigger_event(
            self.PreorderTaken,
            preorder_id=preorder_id,
            shipment_ref=shipment_ref,
            quantity=quantity,
            trace=trace,
        )

    def allocate_preorders(
        self, shipment_ref: str | None, trace: Trace
    ) -> dict[UUID, dict[str, int]]:
        """Hold units for the pre-orders waiting on a shipment, in the order they were placed,
        each whole, FEFO, as far as the units received for it (and still free) reach; the
        first that cannot be served and those after it keep waiting."""
        if shipment_ref is None:
            return {}
        allocated: dict[UUID, dict[str, int]] = {}
        today = trace.occurred_at.date()
        for hex_id, quantity in list(self.waiting.get(shipment_ref, {}).items()):
            if quantity > min(self.arrived.get(shipment_ref, 0), self.available(today)):
                break
            preorder_id = UUID(hex_id)
            allocations = allocate_fefo(list(self.batches.values()), quantity, today)
            self.trigger_event(
                self.PreorderAllocated,
                preorder_id=preorder_id,
                shipment_ref=shipment_ref,
                allocations=allocations,
                trace=trace,
            )
            allocated[preorder_id] = allocations
        return allocated

    def withdraw_preorder(self, preorder_id: UUID, shipment_ref: str, trace: Trace) -> None:
        if preorder_id.hex in self.waiting.get(shipment_ref, {}):
            self.trigger_event(
                self.PreorderWithdrawn,
                preorder_id=preorder_id,
                shipment_ref=shipment_ref,
                trace=trace,
            )

    def delay_shipment(self, shipment_ref: str, expected_on: date, trace: Trace) -> list[UUID]:
        """Returns the pre-orders waiting on it (they keep waiting)."""
        self._require_incoming(shipment_ref)
        require_expected_on(expected_on, trace.occurred_at.date())
        self.trigger_event(
            self.IncomingShipmentDelayed,
            shipment_ref=shipment_ref,
            expected_on=expected_on,
            trace=trace,
        )
        return [UUID(h) for h in self.waiting.get(shipment_ref, {})]

    def cancel_shipment(self, shipment_ref: str, trace: Trace) -> list[UUID]:
        """Returns the pre-orders that were waiting on it (released)."""
        self._require_incoming(shipment_ref)
        released = [UUID(h) for h in self.waiting.get(shipment_ref, {})]
        self.trigger_event(
            self.IncomingShipmentCancelled,
            shipment_ref=shipment_ref,
            released=released,
            trace=trace,
        )
        return released

    # --- late till sales ---------------------------------------------------------------

    def sell_at_till(
        self, quantity: int, unit_price: Decimal, currency: str, trace: Trace
    ) -> tuple[dict[str, int], int]:
        """A sale a till already made: never refused for lack of stock. Free units first
        (first-expired-first-out), then units held for others, then units the books no
        longer have (the last batch to expire goes below zero). Returns the allocations and
        how many of the units were not free (the caller records them as a shortage)."""
        _require_positive(quantity)
        if not self.batches:
            raise UnknownBatchError(
                f"{self.sku} was never held at {self.location}: no batch to sell from; "
                "receive it there (or correct the till's SKU or store)",
                sku=self.sku,
                location=self.location,
            )
        today = trace.occurred_at.date()
        allocations = allocate_fefo(list(self.batches.values()), quantity, today)
        short = quantity - sum(allocations.values())
        remaining = short
        for batch in sorted(self.batches.values(), key=lambda b: (b.expiry, b.number)):
            take = min(max(batch.on_hand - allocations.get(batch.number, 0), 0), remaining)
            if take > 0:
                allocations[batch.number] = allocations.get(batch.number, 0) + take
                remaining -= take
        if remaining:
            last = max(self.batches.values(), key=lambda b: (b.expiry, b.number)).number
            allocations[last] = allocations.get(last, 0) + remaining
        self.trigger_event(
            self.Sold,
            reservation_id=None,
            allocations=allocations,
            unit_price=unit_price,
            currency=currency,
            trace=trace,
        )
        return allocations, short

    def record_shortage(
        self,
        quantity: int,
        holds: dict[str, int],
        till: str,
        seq: int,
        transfer_from: str | None,
        trace: Trace,
    ) -> None:
        self.trigger_event(
            self.ShortageRecorded,
            quantity=quantity,
            holds=holds,
            till=till,
            seq=seq,
            transfer_from=transfer_from,
            trace=trace,
        )

    def units_short(self) -> int:
        """Units the holds here are owed beyond what is on hand, and units sold that the
        books did not have: what shortage records must explain."""
        on_hand = sum(b.on_hand for b in self.batches.values())
        reserved = sum(b.reserved for b in self.batches.values())
        return max(0, reserved - max(on_hand, 0)) + max(0, -on_hand)

    # --- rules -------------------------------------------------------------------------

    def _require_incoming(self, shipment_ref: str) -> None:
        if shipment_ref not in self.incoming:
            raise UnknownShipmentError(
                f"no incoming shipment {shipment_ref!r} of {self.sku} is announced at "
                f"{self.location} (or it was received in full or cancelled); open: "
                f"{sorted(self.incoming) or 'none'}",
                sku=self.sku,
                location=self.location,
                shipment_ref=shipment_ref,
            )

    def _allocate_line(self, quantity: int, batch: str | None, today: date) -> dict[str, int]:
        if batch is None:
            return self._allocate(quantity, today)
        _require_positive(quantity)
        found = self._batch(batch)
        if not found.is_sellable(today):
            raise BatchNotSellableError(
                f"batch {batch!r} of {self.sku} at {self.location} cannot be sold: "
                f"it is {_unsellable_reason(found, today)}",
                sku=self.sku,
                location=self.location,
                batch=batch,
            )
        if found.available(today) < quantity:
            raise _insufficient(self, quantity, found.available(today), batch=batch)
        return {batch: quantity}

    def _allocate(self, quantity: int, today: date) -> dict[str, int]:
        _require_positive(quantity)
        allocations = allocate_fefo(list(self.batches.values()), quantity, today)
        allocated = sum(allocations.values())
        if allocated < quantity:
            raise _insufficient(self, quantity, allocated)
        return allocations

    def _require_unlinked_return_allowed(
        self, batch: str, quantity: int, trace: Trace, back_office: bool
    ) -> None:
        if not back_office:
            self.returns.require_returnable(self.sku, self.location, batch, quantity, trace)
        if not trace.reason:
            raise InvalidCommandError(
                f"a return of {quantity} unit(s) of batch {batch!r} of {self.sku} is not linked "
                f"to a sale at {self.location}: give a reason code for taking it anyway"
            )

    def _batch(self, batch: str) -> Batch:
        try:
            return self.batches[batch]
        except KeyError:
            raise UnknownBatchError(
                f"batch {batch!r} is not held at {self.location} for {self.sku}; "
                f"known batches: {sorted(self.batches) or 'none'}",
                sku=self.sku,
                location=self.location,
                batch=batch,
            ) from None

    def _require_same_expiry(self, batch: str, expiry: date) -> None:
        known = self.batches.get(batch)
        if known is not None and known.expiry != expiry:
            raise BatchMismatchError(
                f"batch {batch!r} of {self.sku} has expiry {known.expiry.isoformat()}, "
                f"not {expiry.isoformat()}",
                sku=self.sku,
                batch=batch,
                expiry=known.expiry.isoformat(),
            )


def _require_positive(quantity: int) -> None:
    if quantity <= 0:
        raise InvalidCommandError(f"quantity must be a positive whole number, got {quantity}")


def _unsellable_reason(batch: Batch, today: date) -> str:
    if batch.status != ACTIVE:
        return batch.status
    return f"expired on {batch.expiry.isoformat()}" if batch.is_expired(today) else "sellable"


def _insufficient(
    stock: Stock, requested: int, available: int, batch: str | None = None
) -> InsufficientStockError:
    where = f"batch {batch!r} of " if batch else ""
    return InsufficientStockError(
        f"only {available} unit(s) of {where}{stock.sku} available at {stock.location}, "
        f"{requested} requested",
        sku=stock.sku,
        location=stock.location,
        requested=requested,
        available=available,
    )
