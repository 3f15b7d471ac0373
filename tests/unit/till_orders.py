"""Web orders at the till's store, for the till tests: builders in business words."""

from __future__ import annotations

from uuid import UUID, uuid4

from memory_uow import MemoryUnitOfWork
from shop import RED, trace

from domain import commands as c
from domain import order_commands as o
from domain.order import Order
from domain.sourcing import Delivery, ShipTo

HOME = ShipTo(52.37, 4.89)


def web_order(uow: MemoryUnitOfWork, units: int, sku: str = RED, delivery: Delivery = HOME) -> UUID:
    """A web order; the store and the warehouse are equally near, the store is chosen first."""
    placed = o.PlaceOrder(uuid4(), (o.OrderedItem(sku, units),), delivery, trace())
    uow.run(placed)
    return placed.order_id


def order_of(uow: MemoryUnitOfWork, order_id: UUID) -> Order:
    found = uow.get(order_id)
    assert isinstance(found, Order)
    return found


def start_picking(uow: MemoryUnitOfWork, order_id: UUID, fulfilment_id: str = "F1") -> None:
    uow.run(o.ProgressFulfilment(order_id, fulfilment_id, "picking", trace(), c.EVERYWHERE))
