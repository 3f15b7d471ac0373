"""The hot views follow holds that fit checkout, transfers in transit and pre-orders: a stock's
view gives the same figures as its aggregate (in transit and pre-ordered included)."""

from __future__ import annotations

from uuid import UUID

import shop
from event_log import ShopLog
from every_event import checkout_and_preorders
from test_fact_projector import assert_movements_add_up_to_on_hand

from domain.ids import stock_id
from domain.stock import Stock
from projections.availability import availability
from projections.hot_views import OPEN_RESERVATIONS, fold


def checkout_day() -> ShopLog:
    log = ShopLog()
    log.run(shop.lipstick(), shop.location(shop.WAREHOUSE), shop.location(shop.STORE))
    log.run(shop.receive(batch="EARLY", expiry=shop.SOON, quantity=4))
    log.run(shop.receive(batch="LATE", expiry=shop.LATEST, quantity=8))
    checkout_and_preorders(log.run)
    return log


def test_stock_views_follow_transit_holds_and_preorders() -> None:
    log = checkout_day()
    views = {key: write.document for key, write in fold({}, log.envelopes).items()}
    for where in (shop.WAREHOUSE, shop.STORE):
        stock = log.uow.get(stock_id(shop.RED, where))
        assert isinstance(stock, Stock)
        expected = {k: v for k, v in stock.summary(shop.TODAY).items() if k != "batches"}
        found = availability(views[f"stock:{shop.RED}@{where}"], shop.TODAY)
        assert {k: v for k, v in found.items() if k != "batches"} == expected
        held = views[f"stock:{shop.RED}@{where}"]["holds"]
        assert {k: sum(v.values()) for k, v in held.items() if v} == {
            str(UUID(k)): sum(v.values()) for k, v in stock.holds.items() if v
        }


def test_preorder_and_switch_views() -> None:
    log = checkout_day()
    views = {key: write.document for key, write in fold({}, log.envelopes).items()}
    statuses = sorted(v["status"] for k, v in views.items() if k.startswith("preorder:"))
    assert statuses == ["confirmed", "released", "released", "released"]
    assert views[f"preorder-switch:{shop.RED}@test"]["preorders"] is True


def test_an_extension_moves_the_reservation_in_the_expiry_index_and_an_order_closes_it() -> None:
    log = checkout_day()
    writes = fold({}, [e for e in log.envelopes if e.type.startswith("Reservation.")])
    (cart,) = writes.values()
    assert cart.document["status"] == "ordered"
    assert [op.kind for op in cart.indexes] == ["zadd", "zadd", "zrem"]
    assert all(op.key == OPEN_RESERVATIONS for op in cart.indexes)


def test_fact_movements_add_up_to_on_hand_with_transfers_in_transit() -> None:
    assert_movements_add_up_to_on_hand(checkout_day())
