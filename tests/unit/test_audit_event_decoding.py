"""The auditors' orjson mapper decodes stored events exactly as the ledger's own mapper does."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from audit.event_decoding import reading_mapper
from domain.ledger import InventoryLedger
from domain.reservation import Reservation
from domain.stock import Stock
from domain.trace import Trace

TRACE = Trace("pos", "till-1", datetime(2026, 3, 1, 9, 30, tzinfo=UTC), "k-1", "receipt-9", None)


def _events() -> list[Any]:
    stock = Stock.open("SOAP", "SHOP")
    stock.receive("B1", date(2031, 1, 1), 10, "ship-1", TRACE)
    rid = uuid.uuid4()
    stock.reserve(rid, 2, TRACE)
    stock.sell_reserved(rid, Decimal("4.50"), "EUR", TRACE)
    stock.transfer_out(uuid.uuid4(), "WH", 1, TRACE)
    expires = datetime(2026, 3, 1, 10, tzinfo=UTC)
    reservation = Reservation.place(rid, [{"sku": "SOAP", "quantity": 2}], expires, TRACE)
    return [*stock.collect_events(), *reservation.collect_events()]


def test_the_reading_mapper_yields_the_same_events_as_the_ledgers_own() -> None:
    ledger = InventoryLedger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    fast = reading_mapper(ledger)
    for event in _events():
        stored = ledger.mapper.to_stored_event(event)
        expected, decoded = ledger.mapper.to_domain_event(stored), fast.to_domain_event(stored)
        assert type(decoded) is type(expected)
        assert vars(decoded) == vars(expected) == vars(event)
