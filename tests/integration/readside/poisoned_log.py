"""A log with a poison event between good ones, written to a real event store: a batch received
with an expiry no business would use (year 1, outside ClickHouse's Date range). It is
triggered on the aggregate directly, as an event already in the log would be (old data, or one
a future bug lets through), so it does not depend on what the command API accepts today."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest
import shop
from memory_uow import MemoryUnitOfWork

from domain.ids import stock_id
from domain.ledger import InventoryLedger
from domain.stock import Stock
from events.envelope import Envelope
from projections import facts as fact_projector
from projections import hot_views as view_projector

ANCIENT = "ANCIENT"  # the poisoned batch
YEAR_ONE = date(1, 1, 1)


def _receive_ancient_batch(_: object, uow: MemoryUnitOfWork) -> None:
    stock = uow.find(stock_id(shop.RED, shop.WAREHOUSE))
    assert isinstance(stock, Stock)
    stock.trigger_event(
        Stock.BatchReceived,
        batch=ANCIENT,
        expiry=YEAR_ONE,
        quantity=1,
        shipment_ref=None,
        trace=shop.trace(),
    )


def write_poisoned_log(ledger: InventoryLedger) -> None:
    """Catalog and locations, a good receipt, the poison, then a receipt and a sale after it."""
    uow = MemoryUnitOfWork()
    steps: list[Any] = [
        shop.lipstick(),
        shop.location(shop.WAREHOUSE),
        shop.location(shop.STORE),
        shop.receive(batch="B1", quantity=10),
        _receive_ancient_batch,
        shop.receive(batch="B2", expiry=shop.LATEST, quantity=5),
        shop.sell(shop.line(2)),
    ]
    for step in steps:
        if callable(step):
            uow.run(None, handler=step)  # type: ignore[arg-type]
        else:
            uow.run(step)
        ledger.save(*uow.last_events)


def is_poison(envelope: Envelope) -> bool:
    return envelope.payload.get("batch") == ANCIENT


@contextmanager
def hot_views_choke_on_the_poison() -> Iterator[None]:
    """A hot-view projector with a bug that this event shows: it raises on it."""
    original = view_projector._HANDLERS["Stock.BatchReceived"]

    def choking(doc: Any, payload: Any, envelope: Envelope) -> Any:
        if is_poison(envelope):
            raise ValueError("expiry year 1 cannot be projected")
        return original(doc, payload, envelope)

    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(view_projector._HANDLERS, "Stock.BatchReceived", choking)
        yield


@contextmanager
def facts_fixed() -> Iterator[None]:
    """The fix an engineer would ship: the facts projector keeps a date ClickHouse can hold."""
    original = fact_projector._HANDLERS["Stock.BatchReceived"]

    def clamped(envelope: Envelope, rows: Any) -> None:
        if is_poison(envelope):
            payload = {**envelope.payload, "expiry": "1970-01-01"}
            envelope = dataclasses.replace(envelope, payload=payload)
        original(envelope, rows)

    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(fact_projector._HANDLERS, "Stock.BatchReceived", clamped)
        yield
