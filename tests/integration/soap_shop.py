"""A scratch store with one SKU (SOAP) at one shop, stocked through the real writer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

from configuration.settings import eventsourcing_env
from domain import commands as c
from domain.ledger import InventoryLedger
from domain.trace import Trace
from service_layer.writer_thread import InProcessWriter
from tests.e2e.conftest import scratch_database

TRACE = Trace("pos", "till-7", datetime.now(tz=UTC))


def soap_shop(units: int) -> Iterator[str]:
    """The store's URL, with `units` of SOAP received at SHOP; dropped afterwards."""
    with scratch_database() as url:
        stock_soap(url, units)
        yield url


def stock_soap(url: str, units: int) -> None:
    """`units` of SOAP received at SHOP, in the store at `url`."""
    ledger = InventoryLedger(env=eventsourcing_env(url))
    writer = InProcessWriter(ledger)
    writer.start()
    variant = c.VariantSpec("SOAP", {}, Decimal("3.00"), "EUR")
    writer.execute(c.DefineProduct("P-SOAP", {}, (variant,), TRACE))
    writer.execute(c.RegisterLocation("SHOP", "Shop", "store", 0.0, 0.0, TRACE))
    writer.execute(c.ReceiveBatch("SOAP", "SHOP", "B1", date(2031, 1, 1), units, None, TRACE))
    writer.stop()
    ledger.close()
