"""A small shop on a real PostgreSQL for audit tests: a catalog, two places, the writer."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from configuration.settings import eventsourcing_env
from domain import commands as c
from domain.ledger import InventoryLedger
from domain.trace import Trace
from service_layer.writer_thread import InProcessWriter

SOAP = "SOAP-ROSE"
WAREHOUSE, SHOP = "WH", "SHOP"
EXPIRY = date(2031, 1, 1)


def now() -> datetime:
    return datetime.now(tz=UTC)


def trace(channel: str = "backoffice", source_ref: str | None = None, **extra: str) -> Trace:
    return Trace(channel, "auditor-test", now(), source_ref=source_ref, **extra)


@dataclass
class Shop:
    url: str
    ledger: InventoryLedger
    writer: InProcessWriter

    def run(self, command: c.Command) -> dict[str, object]:
        return self.writer.execute(command).body

    def receive(self, batch: str, quantity: int, where: str = SHOP) -> None:
        self.run(c.ReceiveBatch(SOAP, where, batch, EXPIRY, quantity, None, trace()))

    def sell(self, quantity: int, batch: str | None = None, **trace_fields: str) -> None:
        line = c.StockLine(SOAP, SHOP, quantity, batch)
        self.run(c.SellDirect(uuid.uuid4(), (line,), trace(**trace_fields)))

    def reserve(self, quantity: int, channel: str, order: str, where: str = SHOP) -> uuid.UUID:
        rid = uuid.uuid4()
        line = (c.StockLine(SOAP, where, quantity),)
        expires = now() + timedelta(hours=1)
        self.run(c.PlaceReservation(rid, line, expires, trace(channel, source_ref=order)))
        return rid

    def confirm(self, rid: uuid.UUID, channel: str) -> None:
        self.run(c.ConfirmReservation(rid, now(), trace(channel)))


@contextmanager
def open_shop(url: str, *, first_time: bool = True) -> Iterator[Shop]:
    """The shop's catalog and places are defined the first time it opens."""
    ledger = InventoryLedger(env=eventsourcing_env(url))
    writer = InProcessWriter(ledger)
    writer.start()
    try:
        if first_time:
            _define_shop(writer)
        yield Shop(url, ledger, writer)
    finally:
        writer.stop()
        ledger.close()


def _define_shop(writer: InProcessWriter) -> None:
    variant = c.VariantSpec(SOAP, {"scent": "rose"}, Decimal("4.50"), "EUR")
    writer.execute(c.DefineProduct("P-SOAP", {"name": "Rose soap"}, (variant,), trace()))
    for code in (WAREHOUSE, SHOP):
        writer.execute(c.RegisterLocation(code, code, "store", 0.0, 0.0, trace()))
