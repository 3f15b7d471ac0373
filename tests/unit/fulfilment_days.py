"""Two days of orders whose fulfilment figures are known by hand: store ships, a split, a
partial cancellation, pickups collected and not collected, a cancelled order, one left open.

The city store (the nearest to every home) holds 3 units of RED and nothing else; the north
warehouse RED and NUDE; the pickup store RED. Every step is dated through its trace, in
seconds after its order was placed (`STEPS`); the test computes each figure from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import shop
from event_log import ShopLog

from domain import commands as c
from domain import order_commands as o
from domain.sourcing import Delivery, PickUpAt, ShipTo

CITY, NORTH, PICKUP_STORE = "ST-CITY", "WH-NORTH", "ST-PICK"
HOME = ShipTo(52.37, 4.89)
DAY_ONE = shop.NOW
DAY_TWO = shop.NOW + timedelta(days=1)
RED, NUDE = shop.RED, shop.NUDE


@dataclass
class Placed:
    """An order of the scenario and what became of it."""

    order_id: UUID
    channel: str
    placed_at: datetime
    fulfilments: list[tuple[str, str, int]]  # (location, method, units) as sourced
    steps: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # F -> (step, secs)


def stocked() -> ShopLog:
    log = ShopLog()
    log.run(shop.lipstick())
    log.run(c.RegisterLocation(CITY, "City", "store", 52.37, 4.90, shop.trace()))
    log.run(c.RegisterLocation(NORTH, "North", "warehouse", 53.0, 5.0, shop.trace()))
    log.run(c.RegisterLocation(PICKUP_STORE, "Pickup", "store", 51.0, 4.0, shop.trace()))
    log.run(shop.receive(batch="C1", quantity=3, where=CITY))
    log.run(shop.receive(batch="N1", quantity=50, where=NORTH))
    log.run(shop.receive(sku=NUDE, batch="U1", quantity=50, where=NORTH))
    log.run(shop.receive(batch="P1", quantity=10, where=PICKUP_STORE))
    return log


def place(
    log: ShopLog, channel: str, at: datetime, *lines: tuple[str, int], delivery: Delivery = HOME
) -> Placed:
    items = tuple(o.OrderedItem(sku, n) for sku, n in lines)
    command = o.PlaceOrder(uuid4(), items, delivery, replace(shop.trace(at), channel=channel))
    body = log.uow.run(command).body
    log.envelopes.extend(log._publish(log.uow.last_events))
    sourced = [
        (f["location"], f["method"], sum(i["quantity"] for i in f["lines"]))
        for f in body["fulfilments"]
    ]
    return Placed(command.order_id, channel, at, sourced)


def step(log: ShopLog, order: Placed, fulfilment: str, name: str, after: int) -> None:
    at = order.placed_at + timedelta(seconds=after)
    log.run(o.ProgressFulfilment(order.order_id, fulfilment, name, shop.trace(at), c.EVERYWHERE))
    order.steps.setdefault(fulfilment, []).append((name, after))


def ship(log: ShopLog, order: Placed, fulfilment: str, after: int) -> None:
    for name in ("picking", "packed"):
        step(log, order, fulfilment, name, after // 2)
    step(log, order, fulfilment, "shipped", after)


def pickup(log: ShopLog, order: Placed, ready_after: int, last: str) -> None:
    for name in ("picking", "packed"):
        step(log, order, "F1", name, ready_after // 2)
    step(log, order, "F1", "ready-for-pickup", ready_after)
    step(log, order, "F1", last, ready_after + 3600)


def fulfilment_days() -> tuple[ShopLog, dict[str, Placed]]:
    """Orders A-F on the web and G-H in the app on day one, I on the web on day two."""
    log = stocked()
    pick = PickUpAt(PICKUP_STORE)
    orders = {
        "A": place(log, "web", DAY_ONE, (RED, 2)),  # the city store ships
        "B": place(log, "web", DAY_ONE + timedelta(minutes=5), (RED, 1), (NUDE, 1)),  # split
        "C": place(log, "web", DAY_ONE + timedelta(minutes=10), (NUDE, 3)),
        "D": place(log, "web", DAY_ONE + timedelta(minutes=20), (RED, 1), delivery=pick),
        "E": place(log, "web", DAY_ONE + timedelta(minutes=30), (RED, 2), delivery=pick),
        "F": place(log, "web", DAY_ONE + timedelta(minutes=40), (NUDE, 1)),
        "G": place(log, "app", DAY_ONE + timedelta(hours=1), (NUDE, 2)),
        "H": place(log, "app", DAY_ONE + timedelta(hours=2), (NUDE, 1)),
        "I": place(log, "web", DAY_TWO, (NUDE, 1)),
    }
    ship(log, orders["A"], "F1", 3600)
    step(log, orders["A"], "F1", "delivered", 90_000)
    ship(log, orders["B"], "F1", 7200)
    ship(log, orders["B"], "F2", 10_800)
    log.run(o.CancelOrderLines(orders["C"].order_id, {"L1": 1}, shop.trace(), c.EVERYWHERE))
    ship(log, orders["C"], "F1", 1800)
    pickup(log, orders["D"], 5400, "collected")
    pickup(log, orders["E"], 9000, "not-collected")
    log.run(o.CancelOrder(orders["F"].order_id, shop.trace(), c.EVERYWHERE))
    ship(log, orders["G"], "F1", 600)
    step(log, orders["H"], "F1", "picking", 60)
    ship(log, orders["I"], "F1", 20_000)
    return log, orders
