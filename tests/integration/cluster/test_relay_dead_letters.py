"""The relay on PostgreSQL and Tansu with an event it cannot publish among good ones: a message
larger than the broker takes, or an event type that has no topic. The event is set aside under
the sink `relay`, every other event reaches its topic, the position reaches the head, and a
retry asked for after the fix publishes it."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Iterator

import pytest
import shop
from memory_uow import MemoryUnitOfWork

from configuration.settings import Settings, eventsourcing_env
from domain.catalog import Product
from domain.ids import product_id
from domain.ledger import InventoryLedger
from streams import relay as relay_module
from streams.log_reader import LogReader
from streams.relay import Relay, RelayConfig
from tests.integration.cluster.test_relay import published, relay_for, relay_to_head
from tests.integration.readside.poisoned_log import write_poisoned_log

pytestmark = pytest.mark.kafka


@pytest.fixture
def ledger(cluster: Settings) -> Iterator[InventoryLedger]:
    app = InventoryLedger(env=eventsourcing_env(cluster.event_store_url))
    try:
        yield app
    finally:
        app.close()


def write_oversized_change(ledger: InventoryLedger) -> None:
    """A product change of 2 MB: more than a Kafka message may carry (1 MB by default)."""
    uow = MemoryUnitOfWork()
    uow.run(shop.lipstick())
    ledger.save(*uow.last_events)

    def change(_: object, work: MemoryUnitOfWork) -> None:
        product = work.find(product_id("LIP"))
        assert isinstance(product, Product)
        product.trigger_event(
            Product.Changed, changes={"story": "x" * 2_000_000}, trace=shop.trace()
        )

    uow.run(None, handler=change)  # type: ignore[arg-type]
    ledger.save(*uow.last_events)
    uow.run(shop.location(shop.WAREHOUSE))  # a good event after it
    ledger.save(*uow.last_events)


def retried(relay: Relay) -> None:
    async def run() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop))
        deadline = time.monotonic() + 30
        while any(letter.retry_requested for letter in relay.letters.listed()):
            assert time.monotonic() < deadline, "the relay did not answer the retry"
            await asyncio.sleep(0.05)
        stop.set()
        await task

    asyncio.run(run())


def test_a_message_too_large_for_the_broker_is_set_aside_and_the_rest_published(
    cluster: Settings, ledger: InventoryLedger
) -> None:
    write_oversized_change(ledger)
    relay = relay_for(cluster, ledger)
    try:
        asyncio.run(relay_to_head(relay))
        [letter] = relay.letters.listed()
        assert (letter.sink, letter.event_type) == ("relay", "Product.Changed")
        assert letter.error == "MessageSizeTooLargeError" and len(letter.message) <= 300
        log = LogReader(ledger).read(0, 100).envelopes
        expected = {e.event_id for e in log if e.type != "Product.Changed"}
        messages = published(cluster, len(expected))  # at least once: a page sent again
        assert {m[3].event_id for m in messages} == expected

        relay.letters.request_retry("relay", None)
        retried(relay)  # nothing fixed: it fails again and keeps its place
        [again] = relay.letters.listed()
        assert again.attempts == 2 and not again.retry_requested
    finally:
        relay.close()


def test_an_event_without_a_topic_is_published_by_a_retry_after_the_fix(
    cluster: Settings, ledger: InventoryLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_poisoned_log(ledger)
    relay = relay_for(cluster, ledger)
    try:
        with monkeypatch.context() as patch:  # a release that forgot the sales' topic
            patch.delitem(relay_module.EVENT_TOPICS, "Stock.Sold")
            asyncio.run(relay_to_head(relay))
        assert [v.event_type for v in relay.letters.listed()] == ["Stock.Sold"]
        everything = {e.event_id for e in LogReader(ledger).read(0, 100).envelopes}
        first = {m[3].event_id for m in published(cluster, len(everything) - 1)}
        assert len(everything - first) == 1

        relay.letters.request_retry("relay", None)
        retried(relay)
        assert relay.letters.listed() == []
        assert {m[3].event_id for m in published(cluster, len(everything))} == everything
    finally:
        relay.close()


def test_a_relay_whose_store_refuses_connections_waits_without_leaks_or_a_flood(
    cluster: Settings, ledger: InventoryLedger, caplog: pytest.LogCaptureFixture
) -> None:
    config = RelayConfig(
        bootstrap_servers=cluster.bootstrap_servers(),
        conninfo="postgresql://postgres@127.0.0.1:1/nowhere",  # nothing listens there
        retry_seconds=0.05,
    )
    relay = Relay(LogReader(ledger), config)

    async def run_a_while() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop))
        deadline = time.monotonic() + 30
        while relay.backoff.failures < 3:
            assert time.monotonic() < deadline, "the relay did not retry"
            await asyncio.sleep(0.05)
        stop.set()
        await task

    with caplog.at_level(logging.WARNING):
        asyncio.run(run_a_while())
        relay.close()
        gc.collect()  # an unclosed producer would warn here, and warnings fail the test
    paused = [r for r in caplog.records if "relay paused" in r.getMessage()]
    assert len(paused) == 1 and relay.published == 0
