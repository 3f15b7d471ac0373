"""The group-commit writer behind the API, on a real PostgreSQL: one command's failure or a
caller that gave up must not take the rest of its commit group down with it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from configuration.settings import eventsourcing_env
from domain import commands as c
from domain.errors import UnknownReservationError
from domain.ids import stock_id
from domain.ledger import InventoryLedger
from domain.trace import Trace
from service_layer.writer_thread import InProcessWriter
from tests.e2e.ledger_server import count_events
from tests.integration.soap_shop import soap_shop

NOW = datetime.now(tz=UTC)
TRACE = Trace("pos", "till-7", NOW)


def _sale(quantity: int = 1) -> c.SellDirect:
    return c.SellDirect(uuid.uuid4(), (c.StockLine("SOAP", "SHOP", quantity),), TRACE)


@pytest.fixture
def store_url() -> Iterator[str]:
    yield from soap_shop(10)


@pytest.fixture
def idle_writer(store_url: str) -> Iterator[InProcessWriter]:
    """A writer whose thread is not started yet, so what is submitted forms one group."""
    ledger = InventoryLedger(env=eventsourcing_env(store_url))
    writer = InProcessWriter(ledger)
    yield writer
    writer.stop()
    ledger.close()


def test_a_command_that_fails_unexpectedly_does_not_fail_its_group(
    idle_writer: InProcessWriter, store_url: str
) -> None:
    before = count_events(store_url)
    not_a_reservation = stock_id("SOAP", "SHOP")
    odd = idle_writer.submit(c.ConfirmReservation(not_a_reservation, NOW, TRACE))
    sale = idle_writer.submit(_sale(), "key-sale", "fp-sale")
    idle_writer.start()

    assert not sale.result(10).created
    with pytest.raises(UnknownReservationError):
        odd.result(10)
    assert count_events(store_url) == before + 1  # Sold


def test_a_caller_that_gave_up_does_not_fail_the_commands_grouped_with_it(
    idle_writer: InProcessWriter, store_url: str
) -> None:
    before = count_events(store_url)
    abandoned = idle_writer.submit(_sale(), "key-abandoned", "fp-abandoned")
    assert abandoned.cancel()  # what asyncio.wait_for does when the API's timeout fires
    sale = idle_writer.submit(_sale(), "key-sale", "fp-sale")
    idle_writer.start()

    assert not sale.result(10).created
    assert count_events(store_url) == before + 1  # the abandoned sale is not applied


def test_a_loop_receives_a_whole_groups_outcomes_and_a_timed_out_wait_is_not_applied(
    idle_writer: InProcessWriter, store_url: str
) -> None:
    import asyncio

    from api.command_waits import deadlines

    before = count_events(store_url)

    async def scenario() -> tuple[list[bool], BaseException | None]:
        abandoned = idle_writer.submit_async(_sale(), "key-late", "fp-late")
        deadlines().watch(abandoned, 0.05)  # times out while the writer is not running
        late: BaseException | None = None
        try:
            await abandoned
        except TimeoutError as error:
            late = error
        futures = [idle_writer.submit_async(_sale(), f"key-{n}", f"fp-{n}") for n in range(3)]
        idle_writer.start()
        outcomes = await asyncio.gather(*futures)
        return [o.created for o in outcomes], late

    created, late = asyncio.run(scenario())

    assert created == [False, False, False]
    assert isinstance(late, TimeoutError)
    assert count_events(store_url) == before + 3  # the abandoned sale is not applied
    assert idle_writer.groups_committed == 1  # one group, handed over in one wake-up


def test_a_refusal_reaches_the_loop_as_the_domain_error(
    idle_writer: InProcessWriter, store_url: str
) -> None:
    import asyncio

    from domain.errors import InsufficientStockError

    async def scenario() -> BaseException | None:
        idle_writer.start()
        try:
            await idle_writer.submit_async(_sale(quantity=11), "key-big", "fp-big")
        except InsufficientStockError as error:
            return error
        return None

    assert isinstance(asyncio.run(scenario()), InsufficientStockError)


def test_the_writer_process_answers_a_caller_outside_any_event_loop(store_url: str) -> None:
    """Started without a running loop (a script, a CLI command), the RemoteWriter reads the
    answers in a thread of its own; stopping it lets the writer process finish first."""
    from configuration.settings import Settings
    from service_layer.writer_client import RemoteWriter

    writer = RemoteWriter(Settings(event_store_url=store_url, writer_process=True))
    writer.start()
    try:
        before = count_events(store_url)
        sold = writer.execute(_sale(2), "sale-outside-a-loop", "f")
        again = writer.execute(_sale(2), "sale-outside-a-loop", "f")
        pending = [writer.submit(_sale(), None, "") for _ in range(3)]
    finally:
        writer.stop()
    assert not sold.created and not sold.replayed
    assert again.replayed and again.body == sold.body
    assert [f.result(timeout=0).created for f in pending] == [False, False, False]
    assert count_events(store_url) == before + 4
