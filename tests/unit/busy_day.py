"""One of every kind of stock, reservation and catalog event, as a published log."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from uuid import uuid4

import shop
from event_log import ShopLog

from domain import commands as c


def busy_day() -> ShopLog:
    log = ShopLog()
    log.run(shop.lipstick(), shop.location(shop.WAREHOUSE), shop.location(shop.STORE))
    log.run(shop.receive(quantity=10), shop.receive(batch="B2", expiry=shop.LATEST, quantity=5))
    kept, dropped = shop.reserve(shop.line(2)), shop.reserve(shop.line(1))
    log.run(kept, shop.confirm(kept.reservation_id), dropped)
    log.run(c.ReleaseReservation(dropped.reservation_id, shop.trace()))
    log.run(shop.reserve(shop.line(1, sku=shop.RED)))
    log.run(shop.sell(shop.line(1)))
    log.run(c.AcceptReturn(shop.RED, shop.WAREHOUSE, "B1", None, 1, True, shop.trace()))
    log.run(c.AcceptReturn(shop.RED, shop.WAREHOUSE, "B1", None, 1, False, shop.trace()))
    log.run(c.AdjustStock(shop.RED, shop.WAREHOUSE, "B2", -1, None, shop.trace()))
    log.run(c.TransferStock(uuid4(), shop.RED, shop.WAREHOUSE, shop.STORE, 2, shop.trace()))
    log.run(c.QuarantineBatch(shop.RED, shop.WAREHOUSE, "B2", shop.trace()))
    log.run(c.LiftQuarantine(shop.RED, shop.WAREHOUSE, "B2", shop.trace()))
    log.run(c.QuarantineBatch(shop.RED, shop.STORE, "B1", shop.trace()))
    log.run(c.RepriceSku(shop.NUDE, Decimal("13.00"), "EUR", shop.trace()))
    log.run(c.ChangeProduct("LIP", {"brand": "Glow"}, shop.trace()))
    log.run(
        c.ExpectShipment(shop.NUDE, shop.STORE, "ASN-1", 4, shop.TODAY + timedelta(3), shop.trace())
    )
    log.run(shop.receive(sku=shop.NUDE, where=shop.STORE, quantity=3, shipment_ref="ASN-1"))
    return log
