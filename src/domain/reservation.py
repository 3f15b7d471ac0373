"""A cart's hold on stock across SKUs and locations, until it is confirmed, released or expires."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.commands import Authority
from domain.errors import (
    HoldLimitError,
    InvalidCommandError,
    NotPermittedError,
    ReservationClosedError,
    ReservationExpiredError,
)
from domain.trace import Trace

OPEN = "open"
CONFIRMED = "confirmed"
RELEASED = "released"
EXPIRED = "expired"
ORDERED = "ordered"  # turned into an order: its units are the order's holds now
CANCELLED = "cancelled"  # given up for a till's earlier sale (Reservation.CancelledForShortage)

# A checkout may extend a hold while the customer pays, within bounds (README: Holds).
MAX_EXTENSIONS = 3
MAX_HOLD = timedelta(hours=2)  # from placing to the latest expiry an extension may reach


def _reservation(aggregate: Aggregate) -> Reservation:
    assert isinstance(aggregate, Reservation)
    return aggregate


class Reservation(Aggregate):
    class Placed(Aggregate.Created):
        lines: list[dict[str, Any]]
        expires_at: datetime
        trace: Trace

    class Confirmed(Aggregate.Event):
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            _reservation(aggregate).status = CONFIRMED

    class Released(Aggregate.Event):
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            _reservation(aggregate).status = RELEASED

    class Expired(Aggregate.Event):
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            _reservation(aggregate).status = EXPIRED

    class Extended(Aggregate.Event):
        expires_at: datetime
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            reservation = _reservation(aggregate)
            reservation.expires_at = self.expires_at
            reservation.extensions += 1

    class ConvertedToOrder(Aggregate.Event):
        """The held units became the order's fulfilment holds in the same commit."""

        order_id: UUID
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            reservation = _reservation(aggregate)
            reservation.status, reservation.order_id = ORDERED, self.order_id

    # --- a late till sale found this cart's units at a store (domain/till_reconciliation.py)

    class Resourced(Aggregate.Event):
        """Units of a line now held at another location: the till sold them where they were."""

        sku: str
        from_location: str
        to_location: str
        quantity: int
        allocations: dict[str, int]  # batches now held at `to_location`
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            reservation = _reservation(aggregate)
            reservation.lines = _moved(reservation.lines, self)  # replaced: copies share lines

    class CancelledForShortage(Aggregate.Event):
        """The cart's hold was given up so that a till's earlier sale stands; its channel
        reads the reason here (status `cancelled`) and hears it on the inventory topic."""

        location: str
        sku: str
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            _reservation(aggregate).status = CANCELLED

    def __init__(self, lines: list[dict[str, Any]], expires_at: datetime, trace: Trace) -> None:
        self.lines = lines
        self.expires_at = expires_at
        self.placed_at = trace.occurred_at
        self.extensions = 0
        self.order_id: UUID | None = None
        self.channel = trace.channel
        self.source_ref = trace.source_ref
        self.customer_id = trace.customer_id  # its sale is theirs: they may return it
        self.status = OPEN

    def __deepcopy__(self, memo: dict[int, Any]) -> Reservation:
        """A copy as independent as a deep copy, without copying the lines: once placed they
        never change (only the status does), so the copy shares them. Every command runs on
        a copy, and a generic deep copy of the lines was half the cost of a confirmation."""
        clone = object.__new__(Reservation)
        clone.__dict__.update(self.__dict__)
        clone.__dict__["_pending_events"] = list(self.__dict__.get("_pending_events", []))
        memo[id(self)] = clone
        return clone

    @classmethod
    def place(
        cls, reservation_id: Any, lines: list[dict[str, Any]], expires_at: datetime, trace: Trace
    ) -> Reservation:
        return cls._create(
            cls.Placed, id=reservation_id, lines=lines, expires_at=expires_at, trace=trace
        )

    def is_overdue(self, now: datetime) -> bool:
        return self.status == OPEN and now >= self.expires_at

    def confirm(self, trace: Trace) -> None:
        self._require_open("confirmed")
        self._require_not_overdue(trace.occurred_at)
        self.trigger_event(self.Confirmed, trace=trace)

    def release(self, trace: Trace) -> None:
        self._require_open("released")
        self.trigger_event(self.Released, trace=trace)

    def expire(self, trace: Trace) -> bool:
        if not self.is_overdue(trace.occurred_at):
            return False
        self.trigger_event(self.Expired, trace=trace)
        return True

    def extend(self, extra: timedelta, trace: Trace) -> None:
        """Hold the units `extra` longer, at most MAX_EXTENSIONS times and MAX_HOLD from
        placing; an expired or closed reservation is refused (409)."""
        self._require_open("extended")
        self._require_not_overdue(trace.occurred_at)
        if extra <= timedelta(0):
            raise InvalidCommandError(f"an extension must be positive, got {extra}")
        if self.extensions >= MAX_EXTENSIONS:
            raise HoldLimitError(
                f"reservation {self.id} was extended {self.extensions} times already, the most "
                f"a hold may be; confirm it, turn it into an order or place a new one",
                reservation_id=str(self.id),
                extensions=self.extensions,
                max_extensions=MAX_EXTENSIONS,
            )
        latest = self.placed_at + MAX_HOLD
        if self.expires_at + extra > latest:
            raise HoldLimitError(
                f"reservation {self.id} may be held until {latest.isoformat()} at the latest "
                f"({int(MAX_HOLD.total_seconds())} s from placing); extending it by "
                f"{int(extra.total_seconds())} s would hold it until "
                f"{(self.expires_at + extra).isoformat()}",
                reservation_id=str(self.id),
                latest_expiry=latest.isoformat(),
            )
        self.trigger_event(self.Extended, expires_at=self.expires_at + extra, trace=trace)

    def convert(self, order_id: UUID, trace: Trace) -> None:
        """Hand the held units over to order `order_id` (the handler moves the holds)."""
        self._require_open("turned into an order")
        self._require_not_overdue(trace.occurred_at)
        self.trigger_event(self.ConvertedToOrder, order_id=order_id, trace=trace)

    def is_open_at(self, now: datetime) -> bool:
        return self.status == OPEN and now < self.expires_at

    def resource(
        self,
        sku: str,
        from_location: str,
        to_location: str,
        allocations: dict[str, int],
        trace: Trace,
    ) -> None:
        self._require_open("re-sourced")
        self.trigger_event(
            self.Resourced,
            sku=sku,
            from_location=from_location,
            to_location=to_location,
            quantity=sum(allocations.values()),
            allocations=allocations,
            trace=trace,
        )

    def cancel_for_shortage(self, location: str, sku: str, trace: Trace) -> None:
        self._require_open("cancelled")
        self.trigger_event(self.CancelledForShortage, location=location, sku=sku, trace=trace)

    def require_authority(self, authority: Authority, verb: str) -> None:
        """Only the channel that placed it acts on it (unless the authority spans channels),
        and only at the authority's location, if it has one."""
        refusal = authority.refusal(self.channel, (line["location"] for line in self.lines))
        if refusal is not None:
            raise NotPermittedError(
                f"reservation {self.id} cannot be {verb} by this caller: {refusal}",
                reservation_id=str(self.id),
            )

    def as_dict(self) -> dict[str, Any]:
        return {
            "reservation_id": str(self.id),
            "status": self.status,
            "expires_at": self.expires_at.isoformat(),
            "channel": self.channel,
            "source_ref": self.source_ref,
            "lines": self.lines,
            "extensions": self.extensions,
            "order_id": None if self.order_id is None else str(self.order_id),
            "version": self.version,
        }

    def _require_open(self, verb: str) -> None:
        if self.status != OPEN:
            error = ReservationExpiredError if self.status == EXPIRED else ReservationClosedError
            raise error(
                f"reservation {self.id} is {self.status} and cannot be {verb}",
                reservation_id=str(self.id),
                status=self.status,
            )

    def _require_not_overdue(self, now: datetime) -> None:
        if self.is_overdue(now):
            raise ReservationExpiredError(
                f"reservation {self.id} expired at {self.expires_at.isoformat()}; place a new one",
                reservation_id=str(self.id),
                expires_at=self.expires_at.isoformat(),
            )


def _moved(lines: list[dict[str, Any]], moved: Reservation.Resourced) -> list[dict[str, Any]]:
    """The lines with `quantity` units of the SKU taken from one location to another (added
    to the line already there, if any)."""
    kept = []
    for line in lines:
        if line["sku"] == moved.sku and line["location"] == moved.from_location:
            left = line["quantity"] - moved.quantity
            if left > 0:
                kept.append({**line, "quantity": left, "allocations": {}})
            continue
        kept.append(line)
    for n, line in enumerate(kept):
        if line["sku"] == moved.sku and line["location"] == moved.to_location:
            allocations = dict(line["allocations"])
            for number, units in moved.allocations.items():
                allocations[number] = allocations.get(number, 0) + units
            kept[n] = {
                **line,
                "quantity": line["quantity"] + moved.quantity,
                "allocations": allocations,
            }
            return kept
    added = {
        "sku": moved.sku,
        "location": moved.to_location,
        "quantity": moved.quantity,
        "allocations": dict(moved.allocations),
    }
    return [*kept, added]
