"""The group-commit writer behind the API, on a real PostgreSQL: one command's failure or a
caller that gave up must not take the rest of its commit group down with it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from domain import commands as c
from domain.errors import UnknownReservationError
from domain.ids import stock_id
from domain.ledger import InventoryLedger
from domain.trace import Trace
from service_layer.command_writer import CommandWriter
from service_layer.settings import eventsourcing_env
from tests.e2e.conftest import scratch_database
from tests.e2e.ledger_server import count_events

NOW = datetime.now(tz=UTC)
TRACE = Trace("pos", "till-7", NOW)


def _sale(quantity: int = 1) -> c.SellDirect:
    return c.SellDirect(uuid.uuid4(), (c.StockLine("SOAP", "SHOP", quantity),), TRACE)


@pytest.fixture
def store_url() -> Iterator[str]:
    with scratch_database() as url:
        ledger = InventoryLedger(env=eventsourcing_env(url))
        writer = CommandWriter(ledger)
        writer.start()
        variant = c.VariantSpec("SOAP", {}, Decimal("3.00"), "EUR")
        writer.execute(c.DefineProduct("P-SOAP", {}, (variant,), TRACE))
        writer.execute(c.RegisterLocation("SHOP", "Shop", "store", 0.0, 0.0, TRACE))
        writer.execute(c.ReceiveBatch("SOAP", "SHOP", "B1", date(2031, 1, 1), 10, None, TRACE))
        writer.stop()
        ledger.close()
        yield url


@pytest.fixture
def idle_writer(store_url: str) -> Iterator[CommandWriter]:
    """A writer whose thread is not started yet, so what is submitted forms one group."""
    ledger = InventoryLedger(env=eventsourcing_env(store_url))
    writer = CommandWriter(ledger)
    yield writer
    writer.stop()
    ledger.close()


def test_a_command_that_fails_unexpectedly_does_not_fail_its_group(
    idle_writer: CommandWriter, store_url: str
) -> None:
    before = count_events(store_url)
    not_a_reservation = stock_id("SOAP", "SHOP")
    odd = idle_writer.submit(c.ConfirmReservation(not_a_reservation, NOW, TRACE))
    sale = idle_writer.submit(_sale(), "key-sale", "fp-sale")
    idle_writer.start()

    assert sale.result(10).status == 200
    with pytest.raises(UnknownReservationError):
        odd.result(10)
    assert count_events(store_url) == before + 1  # Sold


def test_a_caller_that_gave_up_does_not_fail_the_commands_grouped_with_it(
    idle_writer: CommandWriter, store_url: str
) -> None:
    before = count_events(store_url)
    abandoned = idle_writer.submit(_sale(), "key-abandoned", "fp-abandoned")
    assert abandoned.cancel()  # what asyncio.wait_for does when the API's timeout fires
    sale = idle_writer.submit(_sale(), "key-sale", "fp-sale")
    idle_writer.start()

    assert sale.result(10).status == 200
    assert count_events(store_url) == before + 1  # the abandoned sale is not applied
