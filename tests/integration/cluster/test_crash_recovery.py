"""SIGKILL of the relay and of the worker in the middle of 20,000 events, then restarts: the
read models end exactly as a clean rebuild from the log makes them (no loss, no double
count), in Redis document for document and in chDB row for row."""

from __future__ import annotations

import secrets
import signal
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from cli.lag import log_head
from configuration.settings import Settings, eventsourcing_env, postgres_conninfo
from domain.ledger import InventoryLedger
from projections.redis_views import RedisHotViews
from streams.embedded_driver import CONSUMER, Sinks, catch_up
from streams.log_reader import LogReader
from streams.positions import PositionBook
from tests.integration.cluster.processes import (
    dump_facts,
    glow,
    seed,
    sell,
    start,
    stop,
    wait_for,
)
from tests.integration.cluster.test_cluster_end_to_end import worker_args

pytestmark = [pytest.mark.kafka, pytest.mark.slow]  # slow: over 20 s, CI's second pass

SALES = 20_000
CHUNKS = 20


def test_sigkill_of_relay_and_worker_mid_stream_loses_nothing_and_counts_nothing_twice(
    cluster: Settings, redis_url: str, tmp_path: Path
) -> None:
    seed(cluster.event_store_url, sales=0, pool=50)
    book = PositionBook(postgres_conninfo(cluster.event_store_url))
    log = tmp_path / "processes.log"

    def write() -> None:
        for _ in range(CHUNKS):
            sell(cluster.event_store_url, SALES // CHUNKS, 50)

    writer = threading.Thread(target=write)
    relay = start(cluster, "relay", log=log)
    worker = start(cluster, *worker_args(tmp_path), log=log)
    try:
        writer.start()
        wait_for(lambda: book.get("relay") > 5_000, 60, "the relay to pass 5,000")
        relay.send_signal(signal.SIGKILL)
        relay.wait(10)
        killed = [book.get("relay")]
        relay = start(cluster, "relay", log=log)
        wait_for(lambda: book.get("worker") > 8_000, 90, "the worker to pass 8,000")
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        killed.append(book.get("worker"))
        worker = start(cluster, *worker_args(tmp_path), log=log)
        wait_for(lambda: book.get("relay") > 14_000, 60, "the relay to pass 14,000")
        relay.send_signal(signal.SIGKILL)
        worker.send_signal(signal.SIGKILL)
        relay.wait(10)
        worker.wait(10)
        relay = start(cluster, "relay", log=log)
        worker = start(cluster, *worker_args(tmp_path), log=log)
        writer.join(120)
        head = log_head(postgres_conninfo(cluster.event_store_url))
        assert head > SALES
        assert all(position < head for position in killed), (killed, head)  # mid-stream
        wait_for(lambda: book.get("worker") >= head, 120, "the worker to reach the head")
    finally:
        stop(worker)
        stop(relay)
        book.close()
        writer.join(120)

    live_views = RedisHotViews.from_url(redis_url, namespace_of(cluster))
    rebuilt_views = RedisHotViews.from_url(redis_url, f"glow-test-{secrets.token_hex(4)}")
    ledger = InventoryLedger(env=eventsourcing_env(cluster.event_store_url))
    try:
        catch_up(LogReader(ledger), Sinks(hot_views=rebuilt_views), page=5000)
        assert live_views.position(CONSUMER) == rebuilt_views.position(CONSUMER) == head
        live_documents = live_views.all_documents()
        assert live_documents == rebuilt_views.all_documents()
        assert len(live_documents) >= 150  # 100 stocks, 50 SKUs, a product, two locations
    finally:
        rebuilt_views.drop_everything()
        ledger.close()

    rebuilt = replace(cluster, analytics_url=f"chdb://{tmp_path / 'rebuilt-chdb'}")
    glow(rebuilt, "rebuild", "facts", "--quiet")
    live_facts, clean_facts = (
        dump_facts(cluster.analytics_url or ""),
        dump_facts(rebuilt.analytics_url or ""),
    )
    assert live_facts["_position"] == head
    assert live_facts == clean_facts
    per_chunk = sum(1 + n % 3 for n in range(SALES // CHUNKS))  # as `sell` chooses quantities
    assert live_facts["_sold_units"] == CHUNKS * per_chunk
    assert len(live_facts["sales_lines"]) == SALES


def namespace_of(settings: Settings) -> str:
    return (settings.hot_views_url or "").partition("namespace=")[2]
