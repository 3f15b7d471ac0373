"""The Faust worker's path (the agent under Faust's test context, and the StreamProjector it
calls) with a poison event among the deliveries: into Redis hot views and chDB facts, dead
letters in PostgreSQL. The poison is set aside once, the rest is applied, a retry after the
fix gets it in; an unreachable Redis is waited for, not blamed on an event."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from configuration.settings import eventsourcing_env, postgres_conninfo
from domain.ledger import InventoryLedger
from events.envelope import Envelope
from projections.clickhouse_facts import ClickHouseFacts
from projections.redis_views import RedisHotViews
from streams import faust_app
from streams.dead_letters import PostgresDeadLetters
from streams.embedded_driver import CONSUMER, Sinks
from streams.log_reader import LogReader
from streams.stream_projector import StreamProjector
from tests.e2e.conftest import scratch_database
from tests.integration.readside.poisoned_log import ANCIENT, facts_fixed, write_poisoned_log
from tests.integration.readside.test_dead_letters import batches_received, units_sold, wait_until
from tests.integration.readside.test_drivers import faust_agent


@pytest.fixture
def store_url() -> Iterator[str]:
    with scratch_database() as url:
        yield url


@pytest.fixture
def ledger(store_url: str) -> Iterator[InventoryLedger]:
    app = InventoryLedger(env=eventsourcing_env(store_url))
    write_poisoned_log(app)
    try:
        yield app
    finally:
        app.close()


@pytest.fixture
def letters(store_url: str) -> Iterator[PostgresDeadLetters]:
    book = PostgresDeadLetters(postgres_conninfo(store_url))
    try:
        yield book
    finally:
        book.close()


def envelopes(ledger: InventoryLedger) -> list[Envelope]:
    return LogReader(ledger).read(0, 1000).envelopes


def by_partition(delivered: list[Envelope]) -> list[tuple[int, Envelope]]:
    return [(hash(envelope.aggregate_id) % 4, envelope) for envelope in delivered]


def test_the_worker_sets_the_poison_aside_and_applies_the_rest(
    ledger: InventoryLedger,
    redis_views: RedisHotViews,
    facts: ClickHouseFacts,
    letters: PostgresDeadLetters,
    tmp_path: Path,
) -> None:
    log = envelopes(ledger)
    sinks = Sinks(hot_views=redis_views, facts=facts, letters=letters)
    faust_agent(sinks, [log[:6], log[4:]], tmp_path)  # a redelivery of two events included
    assert batches_received(facts) == ["B1", "B2"] and units_sold(facts) == 2
    assert facts.position(CONSUMER) == log[-1].position
    [letter] = letters.listed()
    assert (letter.sink, letter.event_type, letter.attempts) == ("facts", "Stock.BatchReceived", 1)

    projector = StreamProjector(sinks, reader=LogReader(ledger))
    letters.request_retry("facts", None)
    with facts_fixed():
        assert projector.retry_requested() == 1
    assert letters.listed() == [] and batches_received(facts) == [ANCIENT, "B1", "B2"]


@pytest.mark.slow  # over 12 s: CI's second pass (scripts/test -m slow)
def test_the_worker_waits_out_an_unreachable_redis_and_the_facts_go_on(
    ledger: InventoryLedger, facts: ClickHouseFacts, letters: PostgresDeadLetters
) -> None:
    unreachable = RedisHotViews(redis.Redis(port=1, socket_connect_timeout=0.2))
    projector = StreamProjector(Sinks(hot_views=unreachable, facts=facts, letters=letters))
    outcome: list[int | None] = []
    worker = threading.Thread(
        target=lambda: outcome.append(projector.apply_patiently(by_partition(envelopes(ledger))))
    )
    worker.start()
    try:
        wait_until(lambda: projector.backoff.failures >= 3)
    finally:
        projector.stopping.set()
        worker.join(30)
    assert outcome == [None]  # never acknowledged: the batch comes again
    assert letters.counts() == {"facts": 1}  # the poison alone, nothing for the outage
    assert units_sold(facts) == 2  # the facts did not wait for Redis


def test_a_message_that_is_no_envelope_is_skipped_with_one_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        assert faust_app._envelope(b'{"type": 1', "inventory-0", 7) is None
    [line] = caplog.records
    assert "skipped message inventory-0@7" in line.getMessage() and line.exc_info is None
