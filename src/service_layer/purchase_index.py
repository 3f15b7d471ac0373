"""A customer's purchases and returns, found through an index of log positions instead of a
scan of the inventory log (a data-subject export scanned all of it: 27 s per request on the
demo data, and parallel exports slowed every sale).

The index follows the log, off the command path: `catch_up` reads the stock events recorded
since its position (reservations, sales, returns), notes the reservations that named a customer
and the positions of each customer's sales and returns, and moves its position, page by page.
Every lookup catches up first, so an answer covers everything recorded before it was asked.
A sale through a reservation names only the reservation; the reservation's own events name
the customer, and come first in the log.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.persistence import Notification

from domain.ledger import InventoryLedger
from storage.purchase_index_stores import PurchaseIndexStore

KINDS = ("Reserved", "Sold", "Returned")
TOPICS = [f"domain.stock:Stock.{kind}" for kind in KINDS]
PAGE = 1000


class _Said(msgspec.Struct):
    customer_id: str | None = None


class _Trace(msgspec.Struct):
    data: _Said = msgspec.field(name="_data_")


class _Uuid(msgspec.Struct):
    data: str = msgspec.field(name="_data_")


class _Touch(msgspec.Struct):
    """The two members of a stored stock event the index needs; the rest is skipped."""

    trace: _Trace
    reservation_id: _Uuid | None = None


_decode = msgspec.json.Decoder(_Touch).decode


class PurchaseIndex:
    def __init__(self, ledger: InventoryLedger, store: PurchaseIndexStore) -> None:
        self.ledger, self.store = ledger, store
        self._catching_up = threading.Lock()  # one catch-up per process; the others wait

    def positions(self, customer_ids: list[str]) -> list[int]:
        """The log positions of the customers' sales and returns, in log order."""
        self.catch_up()
        return self.store.positions_of(customer_ids)

    def catch_up(self) -> int:
        """Index what was recorded since the last catch-up; returns how many events it read."""
        with self._catching_up:
            read, position = 0, self.store.position()
            while page := self.ledger.recorder.select_notifications(
                position + 1, PAGE, topics=TOPICS
            ):
                self._index(page)
                read, position = read + len(page), page[-1].id
            return read

    def _index(self, page: Sequence[Notification]) -> None:
        touches = [(n, *self._touch(n)) for n in page]
        reserved = {r: c for n, c, r in touches if c and r and n.topic == TOPICS[0]}
        asked = {r for n, c, r in touches if not c and r and r not in reserved}
        known = {**self.store.customers_of(sorted(asked)), **reserved} if asked else reserved
        lines = [
            (customer, n.id)
            for n, said, reservation in touches
            if n.topic != TOPICS[0] and (customer := said or known.get(reservation or ""))
        ]
        self.store.record(page[-1].id, reserved.items(), lines)

    def _touch(self, notification: Notification) -> tuple[str | None, str | None]:
        """The customer the event's command named, and its reservation, if any."""
        try:
            touch = _decode(notification.state)
        except msgspec.DecodeError:  # not the stored form this reads: take the mapper's way
            return _touch_of(self.ledger.mapper.to_domain_event(notification))
        reservation = touch.reservation_id
        return touch.trace.data.customer_id, str(UUID(reservation.data)) if reservation else None

    def stored(self, positions: Iterable[int]) -> list[Any]:
        """The events at these positions, decoded."""
        events: list[Any] = []
        for position in positions:
            found = self.ledger.recorder.select_notifications(position, 1, stop=position)
            events.extend(self.ledger.mapper.to_domain_event(n) for n in found)
        return events


def _touch_of(event: Any) -> tuple[str | None, str | None]:
    reservation = getattr(event, "reservation_id", None)
    return event.trace.customer_id, str(reservation) if reservation else None
