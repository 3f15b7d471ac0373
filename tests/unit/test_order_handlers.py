"""Order, channel-rule and kit commands through the handlers: sourcing holds stock at every
chosen location in one command, every transition gives back or sells exactly what it holds."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import pytest
from memory_uow import MemoryUnitOfWork
from shop import LATER, LATEST, NOW, NUDE, RED, SOON, TODAY, open_shop, receive, trace

from domain import commands as c
from domain import order_commands as o
from domain.errors import (
    CannotSourceError,
    InsufficientStockError,
    InvalidCommandError,
    NotPermittedError,
    OrderStateError,
    UnknownOrderError,
    UnknownSkuError,
)
from domain.ids import stock_id
from domain.order import Order
from domain.order_sourcing import channel_availability, plan
from domain.results import Result
from domain.sourcing import PickUpAt, ShipTo
from domain.stock import Stock

HOME = ShipTo(52.37, 4.89)
NORTH, SOUTH, SHOP = "WH-NORTH", "WH-SOUTH", "ST-CITY"
KIT = "GIFT-SET"
ANYONE = c.EVERYWHERE
HOUR = timedelta(hours=1)


def shop_with_stock() -> MemoryUnitOfWork:
    """RED: 3 at the north warehouse, 5 at the south one, 4 in the city shop; NUDE: 6 south."""
    uow = open_shop()
    uow.run(c.RegisterLocation(NORTH, "North", "warehouse", 53.0, 5.0, trace()))
    uow.run(c.RegisterLocation(SOUTH, "South", "warehouse", 51.0, 4.0, trace()))
    uow.run(c.RegisterLocation(SHOP, "City", "store", 52.37, 4.90, trace()))
    uow.run(receive(batch="N1", quantity=3, where=NORTH))
    uow.run(receive(batch="S-EARLY", expiry=SOON, quantity=2, where=SOUTH))
    uow.run(receive(batch="S-LATE", expiry=LATEST, quantity=3, where=SOUTH))
    uow.run(receive(batch="C1", quantity=4, where=SHOP))
    uow.run(receive(sku=NUDE, batch="U1", quantity=6, where=SOUTH))
    return uow


def place(uow: MemoryUnitOfWork, *lines: tuple[str, int], delivery=HOME, channel="test") -> dict:
    items = tuple(o.OrderedItem(sku, n) for sku, n in lines)
    command = o.PlaceOrder(uuid4(), items, delivery, replace(trace(), channel=channel))
    return uow.run(command).body


def held(uow: MemoryUnitOfWork, sku: str, where: str) -> int:
    stock: Stock = uow.get(stock_id(sku, where))
    return sum(b.reserved for b in stock.batches.values())


def on_hand(uow: MemoryUnitOfWork, sku: str, where: str) -> int:
    stock: Stock = uow.get(stock_id(sku, where))
    return sum(b.on_hand for b in stock.batches.values())


def available(uow: MemoryUnitOfWork, sku: str, channel: str = "test") -> int:
    return uow.run(Quote(sku=sku, channel=channel), Quote.available).body["available"]


@dataclass(frozen=True)
class Quote:
    """Reads through the handlers' unit of work, as the quote reads the ledger."""

    lines: list[tuple[str, str, int]] = field(default_factory=list)
    sku: str = ""
    channel: str = "test"

    @staticmethod
    def handle(query: Quote, uow: MemoryUnitOfWork) -> Result:
        return Result(plan(uow, query.lines, HOME, query.channel, TODAY).as_dict())

    @staticmethod
    def available(query: Quote, uow: MemoryUnitOfWork) -> Result:
        return Result({"available": channel_availability(uow, query.channel, query.sku, TODAY)})


def step(uow: MemoryUnitOfWork, order: dict, fulfilment_id: str, *steps: str) -> dict:
    body = order
    for name in steps:
        command = o.ProgressFulfilment(
            UUID(order["order_id"]), fulfilment_id, name, trace(), ANYONE
        )
        body = uow.run(command).body
    return body


def test_placing_sources_and_holds_every_line_in_one_command():
    uow = shop_with_stock()
    order = place(uow, (RED, 2), (NUDE, 1))
    assert order["status"] == "sourced"
    assert uow.event_types().count("Stock.Reserved") == 2
    assert {"Order.Placed", "Order.Sourced"} <= set(uow.event_types())
    # the nearest first: the city shop has the lipsticks, only the south warehouse the NUDE
    assert [f["location"] for f in order["fulfilments"]] == [SHOP, SOUTH]
    assert held(uow, RED, SHOP) == 2 and held(uow, NUDE, SOUTH) == 1
    recorded: Order = uow.get(UUID(order["order_id"]))  # the reasons are recorded, not answered
    reasons = {r["location"]: r["code"] for r in recorded.decision["reasons"]}
    assert reasons[SHOP] == reasons[SOUTH] == "used" and reasons[NORTH] == "farther"
    assert "reasons" not in order["decision"]


def test_an_order_no_location_can_serve_records_nothing():
    uow = shop_with_stock()
    with pytest.raises(CannotSourceError) as refused:
        place(uow, (NUDE, 7))
    assert "NUDE" in str(refused.value) or "LIP-NUDE" in str(refused.value)
    assert held(uow, NUDE, SOUTH) == 0


def test_unknown_skus_and_pickup_at_a_warehouse_are_refused():
    uow = shop_with_stock()
    with pytest.raises(UnknownSkuError):
        place(uow, ("NO-SUCH", 1))
    with pytest.raises(InvalidCommandError, match="expected a store"):
        place(uow, (RED, 1), delivery=PickUpAt(NORTH))


def test_a_split_order_holds_at_each_location_and_shipping_sells_what_is_held():
    uow = shop_with_stock()
    order = place(uow, (RED, 11))  # 3 north + 5 south + 3 of the shop's 4
    assert sorted(f["location"] for f in order["fulfilments"]) == [SHOP, NORTH, SOUTH]
    assert held(uow, RED, NORTH) + held(uow, RED, SOUTH) + held(uow, RED, SHOP) == 11
    south = next(f for f in order["fulfilments"] if f["location"] == SOUTH)
    body = step(uow, order, south["fulfilment_id"], "picking", "packed", "shipped")
    assert body["status"] == "in_fulfilment"
    assert held(uow, RED, SOUTH) == 0 and on_hand(uow, RED, SOUTH) == 1  # 4 of 5 shipped


def test_cancelling_some_lines_gives_back_part_of_a_hold():
    uow = shop_with_stock()
    order = place(uow, (RED, 3))
    order_id = UUID(order["order_id"])
    uow.run(o.CancelOrderLines(order_id, {"L1": 1}, trace(), ANYONE))
    assert "Stock.HoldReduced" in uow.event_types()
    assert sum(held(uow, RED, where) for where in (NORTH, SOUTH, SHOP)) == 2


def test_cancelling_the_order_releases_every_hold_and_a_second_cancel_names_the_state():
    uow = shop_with_stock()
    order = place(uow, (RED, 11))
    order_id = UUID(order["order_id"])
    uow.run(o.CancelOrder(order_id, trace(), ANYONE))
    assert sum(held(uow, RED, where) for where in (NORTH, SOUTH, SHOP)) == 0
    with pytest.raises(OrderStateError, match="is cancelled"):
        uow.run(o.CancelOrder(order_id, trace(), ANYONE))


def test_an_edit_sources_again_and_an_edit_after_shipping_is_refused():
    uow = shop_with_stock()
    order = place(uow, (RED, 2))
    order_id = UUID(order["order_id"])
    body = uow.run(
        o.EditOrderLines(order_id, (o.OrderedItem(NUDE, 2),), (), {"L1": 1}, trace(), ANYONE)
    ).body
    assert body["status"] == "sourced"
    assert sum(held(uow, RED, w) for w in (NORTH, SOUTH, SHOP)) == 1
    assert held(uow, NUDE, SOUTH) == 2
    fulfilment = body["fulfilments"][-1]["fulfilment_id"]
    step(uow, body, fulfilment, "picking", "packed", "shipped")
    with pytest.raises(OrderStateError, match="in_fulfilment"):
        uow.run(o.EditOrderLines(order_id, (), (), {"L1": 2}, trace(), ANYONE))


def test_a_failed_payment_releases_the_stock():
    uow = shop_with_stock()
    order = place(uow, (RED, 2))
    order_id = UUID(order["order_id"])
    uow.run(o.ReportPayment(order_id, "authorised", Decimal("25"), trace(), ANYONE))
    body = uow.run(o.ReportPayment(order_id, "failed", None, trace(), ANYONE)).body
    assert body["status"] == "cancelled" and body["payment"]["status"] == "failed"
    assert sum(held(uow, RED, w) for w in (NORTH, SOUTH, SHOP)) == 0


def test_pickup_no_show_releases_and_collection_sells():
    uow = shop_with_stock()
    for last, reserved, stocked in (("not-collected", 0, 4), ("collected", 0, 2)):
        order = place(uow, (RED, 2), delivery=PickUpAt(SHOP))
        (fulfilment,) = order["fulfilments"]
        assert fulfilment["location"] == SHOP
        step(uow, order, fulfilment["fulfilment_id"], "picking", "packed", "ready-for-pickup", last)
        assert (held(uow, RED, SHOP), on_hand(uow, RED, SHOP)) == (reserved, stocked)


def test_a_return_comes_back_on_the_shelf_and_is_refunded():
    uow = shop_with_stock()
    order = place(uow, (NUDE, 2))
    order_id = UUID(order["order_id"])
    step(uow, order, "F1", "picking", "packed", "shipped", "delivered")
    body = uow.run(o.RequestReturn(order_id, {"L1": 2}, trace(), ANYONE)).body
    uow.run(o.ReceiveReturn(order_id, body["rma_id"], SOUTH, {"L1": 1}, {"L1": 1}, trace(), ANYONE))
    assert on_hand(uow, NUDE, SOUTH) == 5
    body = uow.run(o.RefundReturn(order_id, "R1", Decimal("25.00"), trace(), ANYONE)).body
    assert body["returns"][0]["status"] == "refunded"


def test_another_channel_may_not_act_and_staff_only_at_their_location():
    uow = shop_with_stock()
    order = place(uow, (RED, 11))
    order_id = UUID(order["order_id"])
    with pytest.raises(NotPermittedError, match="another channel"):
        uow.run(o.CancelOrder(order_id, trace(), c.Authority(channel="web")))
    shop_fulfilment = next(f for f in order["fulfilments"] if f["location"] == SHOP)
    staff = c.Authority(location=SHOP)
    ok = o.ProgressFulfilment(order_id, shop_fulfilment["fulfilment_id"], "picking", trace(), staff)
    assert uow.run(ok).body["status"] == "in_fulfilment"
    north = next(f for f in order["fulfilments"] if f["location"] == NORTH)
    with pytest.raises(NotPermittedError, match="staff of"):
        uow.run(o.ProgressFulfilment(order_id, north["fulfilment_id"], "picking", trace(), staff))
    with pytest.raises(UnknownOrderError):
        uow.run(o.CancelOrder(uuid4(), trace(), ANYONE))


def test_channel_rules_bound_sourcing_and_availability():
    uow = shop_with_stock()
    rules = o.ChangeChannelRules(
        "web",
        trace(),
        sell_from=(NORTH, SOUTH),
        safety_buffers={RED: 1},
        min_shelf_life_days=(SOON - TODAY).days + 1,
    )
    uow.run(rules)
    uow.run(c.ReceiveBatch(RED, NORTH, "N1", LATER, 0 + 1, None, trace()))  # 4 north now

    # north: 4 free less 1 kept back; south: 5 free less 1, of which S-LATE's 3 are long
    # dated enough; the shop is not the channel's
    assert available(uow, RED, "web") == 3 + 3
    with pytest.raises(CannotSourceError):
        place(uow, (RED, 7), channel="web")
    order = place(uow, (RED, 6), channel="web")
    assert {f["location"] for f in order["fulfilments"]} == {NORTH, SOUTH}
    assert available(uow, RED, "web") == 0


def test_a_kit_takes_every_component_and_its_availability_is_the_scarcest():
    uow = shop_with_stock()
    with pytest.raises(UnknownSkuError):  # a kit is sold under a catalog SKU
        uow.run(o.DefineKit(KIT, {RED: 1, NUDE: 2}, trace()))
    uow.run(c.AddVariant("LIP", c.VariantSpec(KIT, {}, Decimal("30"), "EUR"), trace()))
    with pytest.raises(UnknownSkuError):
        uow.run(o.DefineKit(KIT, {"NO-SUCH": 1}, trace()))
    uow.run(o.DefineKit(KIT, {RED: 1, NUDE: 2}, trace()))
    assert available(uow, KIT) == 3  # NUDE: 6 // 2
    order = place(uow, (KIT, 3))
    assert [f["location"] for f in order["fulfilments"]] == [SOUTH]
    assert held(uow, NUDE, SOUTH) == 6 and held(uow, RED, SOUTH) == 3
    assert available(uow, KIT) == 0
    with pytest.raises(CannotSourceError):
        place(uow, (KIT, 1))


def test_a_kit_cannot_contain_itself():
    uow = shop_with_stock()
    uow.run(c.AddVariant("LIP", c.VariantSpec(KIT, {}, Decimal("30"), "EUR"), trace()))
    with pytest.raises(InvalidCommandError, match="not kits"):
        uow.run(o.DefineKit(KIT, {KIT: 1}, trace()))


def test_a_quote_is_the_decision_placing_would_take():
    uow = shop_with_stock()
    quoted = uow.run(Quote([("L1", RED, 11)]), Quote.handle).body
    order = place(uow, (RED, 11))
    assert quoted["allocations"] == order["decision"]["allocations"]


def test_reserving_or_selling_a_kit_takes_every_component_or_none():
    uow = shop_with_stock()
    uow.run(c.AddVariant("LIP", c.VariantSpec(KIT, {}, Decimal("30"), "EUR"), trace()))
    uow.run(o.DefineKit(KIT, {RED: 1, NUDE: 2}, trace()))
    kits = c.StockLine(KIT, SOUTH, 2)
    reservation = uow.run(c.PlaceReservation(uuid4(), (kits,), NOW + HOUR, trace())).body
    assert sorted((line["sku"], line["quantity"]) for line in reservation["lines"]) == [
        (NUDE, 4),
        (RED, 2),
    ]
    assert held(uow, RED, SOUTH) == 2 and held(uow, NUDE, SOUTH) == 4
    uow.run(c.SellDirect(uuid4(), (c.StockLine(KIT, SOUTH, 1),), trace()))
    assert on_hand(uow, NUDE, SOUTH) == 4 and on_hand(uow, RED, SOUTH) == 4
    with pytest.raises(InsufficientStockError):  # NUDE: 4 on hand, all held
        uow.run(c.SellDirect(uuid4(), (c.StockLine(KIT, SOUTH, 1),), trace()))
    assert on_hand(uow, RED, SOUTH) == 4  # nothing of the refused kit was taken
