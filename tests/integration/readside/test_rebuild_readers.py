"""A rebuild whose pages are read, decoded and prepared by forked reader processes builds the
same read models, row for row, as the single-process pass, on PostgreSQL, chDB and Redis; a
reader that fails fails the rebuild and leaves the live models as they were."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from every_event import every_event_with_odd_values

from domain.ledger import InventoryLedger
from projections.clickhouse_facts import ClickHouseFacts
from projections.facts import TABLES
from projections.memory_views import MemoryHotViews
from projections.redis_views import RedisHotViews
from service_layer.settings import eventsourcing_env
from streams import page_feed
from streams.embedded_driver import CONSUMER, Sinks, catch_up
from streams.log_reader import LogReader
from streams.page_feed import PageFeed, Preparation
from streams.rebuild import rebuild_facts, rebuild_hot_views
from streams.replay import replay
from tests.e2e.conftest import scratch_database


@pytest.fixture(scope="module")
def ledger() -> Iterator[InventoryLedger]:
    with scratch_database() as url:
        app = InventoryLedger(env=eventsourcing_env(url))
        app.save(*every_event_with_odd_values())
        try:
            yield app
        finally:
            app.close()


@pytest.fixture(autouse=True)
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(page_feed, "FEED_PAGE", 9)  # aggregates changed in others' pages
    monkeypatch.setattr(page_feed, "MIN_EVENTS", 1)


def fact_tables(facts: ClickHouseFacts) -> dict[str, list[tuple[object, ...]]]:
    return {table: facts.table_rows(table) for table in TABLES}


def test_facts_rebuilt_by_reader_processes_equal_the_single_process_rebuild(
    ledger: InventoryLedger, facts: ClickHouseFacts
) -> None:
    alone = rebuild_facts(LogReader(ledger), facts, show=False, readers=0)
    single = fact_tables(facts)
    shared = rebuild_facts(LogReader(ledger), facts, show=False, readers=2)
    assert fact_tables(facts) == single
    assert sum(map(len, single.values())) > 30
    assert shared.events == alone.events and shared.position == alone.position
    assert facts.position(CONSUMER) == LogReader(ledger).head()


def test_hot_views_rebuilt_by_reader_processes_equal_the_single_process_rebuild(
    ledger: InventoryLedger, redis_views: RedisHotViews
) -> None:
    alone = rebuild_hot_views(LogReader(ledger), redis_views, show=False, readers=0)
    single = redis_views.all_documents()
    shared = rebuild_hot_views(LogReader(ledger), redis_views, show=False, readers=3)
    assert redis_views.all_documents() == single
    assert len(single) >= 5
    assert (shared.events, shared.position) == (alone.events, alone.position)


def test_a_replay_fed_by_readers_into_both_stores_builds_what_the_embedded_driver_builds(
    ledger: InventoryLedger, facts: ClickHouseFacts
) -> None:
    fed, followed = Sinks(hot_views=MemoryHotViews(), facts=facts), Sinks(MemoryHotViews())
    feed = PageFeed.open(LogReader(ledger), Preparation.for_sinks(fed), 0, readers=2)
    assert feed is not None
    try:
        events = replay(LogReader(ledger), fed, feed=feed)
    finally:
        feed.close()
    assert catch_up(LogReader(ledger), followed) == events
    assert fed.hot_views is not None and followed.hot_views is not None
    assert fed.hot_views.all_documents() == followed.hot_views.all_documents()
    assert fed.positions() == {"hot_views": feed.head, "facts": feed.head}


def test_a_failing_reader_fails_the_rebuild_and_the_live_facts_stay(
    ledger: InventoryLedger, facts: ClickHouseFacts, monkeypatch: pytest.MonkeyPatch
) -> None:
    rebuild_facts(LogReader(ledger), facts, show=False, readers=0)
    before = fact_tables(facts)

    def broken(*_: object) -> None:
        raise ValueError("a page no projector can read")

    monkeypatch.setattr(page_feed, "batch_rows", broken)  # inherited by the forked readers
    with pytest.raises(RuntimeError, match="a page no projector can read"):
        rebuild_facts(LogReader(ledger), facts, show=False, readers=2)
    assert fact_tables(facts) == before


def test_a_short_log_or_no_readers_gives_no_feed(ledger: InventoryLedger) -> None:
    preparation = Preparation(hot_views=True, facts=None)
    assert PageFeed.open(LogReader(ledger), preparation, 0, readers=0) is None
    head = LogReader(ledger).head()
    assert PageFeed.open(LogReader(ledger), preparation, 0, min_events=head + 1) is None
