"""A store with a till, and a warehouse, for the till tests: builders in business words."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from memory_uow import MemoryUnitOfWork
from shop import NOW, RED, STORE, WAREHOUSE, open_shop, receive, trace

from domain.till_commands import (
    DeclareReconciliationPolicy,
    RecordTillLine,
    RecordTillLines,
    RegisterTill,
    TillItem,
)

TILL = "T1"


def shop_with_till(store_units: int = 5, warehouse_units: int = 10) -> MemoryUnitOfWork:
    uow = open_shop()
    uow.run(receive(RED, "S1", quantity=store_units, where=STORE))
    if warehouse_units:
        uow.run(receive(RED, "W1", quantity=warehouse_units, where=WAREHOUSE))
    uow.run(RegisterTill(TILL, STORE, trace()))
    return uow


def policy(*steps: str) -> DeclareReconciliationPolicy:
    return DeclareReconciliationPolicy(STORE, steps, trace())


def lines(*recorded: RecordTillLine, till: str = TILL, journal: str = "J1") -> RecordTillLines:
    return RecordTillLines(till, journal, recorded, trace())


def till_sale(seq: int, quantity: int, sku: str = RED, at: datetime = NOW) -> RecordTillLines:
    return lines(RecordTillLine(seq, "sale", (TillItem(sku, quantity),), trace(at)))


def till_void(seq: int, voids: int, quantity: int, sku: str = RED) -> RecordTillLines:
    item = TillItem(sku, quantity)
    return lines(RecordTillLine(seq, "void", (item,), trace(), voids=voids))


def answer(uow: MemoryUnitOfWork, command: RecordTillLines) -> dict[str, Any]:
    """The answer for the command's only line."""
    found: dict[str, Any] = uow.run(command).body["lines"][0]
    return found


def a_till_reconciles(uow: MemoryUnitOfWork) -> None:
    """A cart holds the store's last units; the till's late sales re-source it, then cancel
    it, then find nothing left to free and record a shortage (every till event once)."""
    from shop import NUDE, line, reserve

    uow.run(RegisterTill("T-DAY", STORE, trace()))
    uow.run(DeclareReconciliationPolicy(STORE, ("shortage",), trace()))
    uow.run(policy("resource", "cancel_hold"))
    uow.run(receive(NUDE, "N-S", quantity=3, where=STORE))
    uow.run(reserve(line(3, NUDE, STORE)))
    uow.run(receive(NUDE, "N-W", quantity=2, where=WAREHOUSE))
    sales = [
        RecordTillLine(seq, "sale", (TillItem(NUDE, units),), trace())
        for seq, units in ((1, 1), (2, 2), (3, 1))
    ]
    uow.run(lines(*sales, till="T-DAY", journal="J-DAY"))


def a_till_reconciles_orders(uow: MemoryUnitOfWork) -> None:
    """Web orders hold a store's last units; its till's late sales re-source the newest
    order elsewhere, then (the policy changed) cancel the other's line."""
    from dataclasses import replace
    from uuid import uuid4

    from domain.commands import RegisterLocation
    from domain.order_commands import OrderedItem, PlaceOrder
    from domain.sourcing import ShipTo

    shop, web = "ST-ORDERS", replace(trace(), channel="web")
    uow.run(RegisterLocation(shop, "Order shop", "store", 52.37, 4.89, trace()))
    uow.run(receive(RED, "R-O", quantity=4, where=shop))
    uow.run(RegisterTill("T-ORDERS", shop, trace()))
    for _ in range(2):
        uow.run(PlaceOrder(uuid4(), (OrderedItem(RED, 2),), ShipTo(52.37, 4.89), web))
    for seq, steps in ((1, ("resource",)), (2, ("cancel_hold",))):
        uow.run(DeclareReconciliationPolicy(shop, steps, trace()))
        sale = RecordTillLine(seq, "sale", (TillItem(RED, 1),), trace())
        uow.run(lines(sale, till="T-ORDERS", journal="J-ORDERS"))
