"""Whose hold it is: a fulfilment order holds its units on a stock under an id derived from
the order and the fulfilment order (`fulfilment_hold_id`), which cannot be read back. Each
fulfilment order made leaves this small record under that very id, so a stock's hold leads
to its order (a till's late sale looks for the open orders holding the units it sold).

Bookkeeping of the write side, as the LocationDirectory is: never published, never
projected; made once, in the commit that makes the fulfilment order, and never changed."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.ids import fulfilment_hold_id
from domain.order import Fulfilment, Order
from domain.unit_of_work import UnitOfWork


class FulfilmentHold(Aggregate):
    class Made(Aggregate.Created):
        order_id: UUID
        fulfilment_id: str
        location: str

    def __init__(self, order_id: UUID, fulfilment_id: str, location: str) -> None:
        self.order_id = order_id
        self.fulfilment_id = fulfilment_id
        self.location = location

    @classmethod
    def make(cls, order_id: UUID, fulfilment_id: str, location: str) -> FulfilmentHold:
        return cls._create(
            cls.Made,
            id=fulfilment_hold_id(order_id, fulfilment_id),
            order_id=order_id,
            fulfilment_id=fulfilment_id,
            location=location,
        )


def note_holds(uow: UnitOfWork, order: Order, fulfilments: Iterable[Fulfilment]) -> None:
    """Leave the record of each new fulfilment order's hold, in the same commit."""
    for fulfilment in fulfilments:
        uow.add(FulfilmentHold.make(order.id, fulfilment.fulfilment_id, fulfilment.location))
