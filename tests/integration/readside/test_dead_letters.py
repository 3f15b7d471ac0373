"""A poison event in the log never stops a read model: the embedded driver, on the SQLite store
and on PostgreSQL, into chDB facts and hot views (Redis and in-process), sets the event aside
once per sink that cannot take it, projects every event after it, and applies it when an
operator retries it after a fix."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import psycopg
import pytest
import redis
import shop

from configuration.settings import Settings, eventsourcing_env
from domain.ledger import InventoryLedger
from domain.location import Location
from projections.clickhouse_facts import ClickHouseFacts
from projections.hot_view_store import HotViewStore
from projections.memory_views import MemoryHotViews
from projections.redis_views import RedisHotViews
from service_layer.read_side import open_dead_letters
from streams.dead_letters import DeadLetters
from streams.embedded_driver import CONSUMER, LogFollower, Sinks, catch_up
from streams.letter_retry import retry_requested
from streams.log_reader import LogReader
from streams.outages import SinksHeldError
from streams.rebuild import rebuild_facts, rebuild_hot_views
from tests.e2e.conftest import scratch_database
from tests.integration.readside.poisoned_log import (
    ANCIENT,
    facts_fixed,
    hot_views_choke_on_the_poison,
    write_poisoned_log,
)

STOCK = f"stock:{shop.RED}@{shop.WAREHOUSE}"


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/ledger.sqlite"
        return
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
def letters(store_url: str, ledger: InventoryLedger) -> Iterator[DeadLetters]:
    book = open_dead_letters(Settings(event_store_url=store_url))
    try:
        yield book
    finally:
        book.close()


def batches_received(facts: ClickHouseFacts) -> list[str]:
    rows = facts.rows(
        "SELECT batch FROM stock_movements FINAL WHERE kind = 'received' ORDER BY batch"
    )
    return [row["batch"] for row in rows]


def units_sold(facts: ClickHouseFacts) -> int:
    return int(facts.rows("SELECT sum(quantity) AS units FROM sales_lines FINAL")[0]["units"])


def test_the_events_after_a_poison_reach_both_read_models_and_it_is_set_aside_once(
    ledger: InventoryLedger, hot_views: HotViewStore, facts: ClickHouseFacts, letters: DeadLetters
) -> None:
    reader = LogReader(ledger)
    sinks = Sinks(hot_views=hot_views, facts=facts, letters=letters)

    catch_up(reader, sinks)
    catch_up(reader, sinks)  # nothing new: nothing is set aside again

    head = reader.head()
    assert sinks.positions() == {"hot_views": head, "facts": head}
    assert batches_received(facts) == ["B1", "B2"]
    assert units_sold(facts) == 2
    batches = hot_views.read([STOCK])[STOCK]["batches"]  # type: ignore[index]
    assert sorted(batches) == [ANCIENT, "B1", "B2"]  # the hot views could take it
    [letter] = letters.listed()
    assert (letter.sink, letter.event_type, letter.error) == (
        "facts",
        "Stock.BatchReceived",
        "DatabaseError",
    )
    assert reader.event_at(letter.position).payload["batch"] == ANCIENT  # type: ignore[union-attr]
    assert letter.attempts == 1 and "Date range" in letter.message
    assert letters.counts() == {"facts": 1}


def test_a_poison_for_one_sink_holds_back_neither_sink(
    ledger: InventoryLedger, facts: ClickHouseFacts, letters: DeadLetters
) -> None:
    views = MemoryHotViews()
    with hot_views_choke_on_the_poison():
        catch_up(LogReader(ledger), Sinks(hot_views=views, facts=facts, letters=letters))
    assert letters.counts() == {"facts": 1, "hot_views": 1}
    stock = views.read([STOCK])[STOCK]
    assert stock is not None and sorted(stock["batches"]) == ["B1", "B2"]
    assert stock["batches"]["B1"]["on_hand"] == 8  # the sale after the poison is in
    assert units_sold(facts) == 2


def test_a_retry_after_the_fix_applies_the_event_and_clears_its_letter(
    ledger: InventoryLedger, hot_views: HotViewStore, facts: ClickHouseFacts, letters: DeadLetters
) -> None:
    reader = LogReader(ledger)
    sinks = Sinks(hot_views=hot_views, facts=facts, letters=letters)
    with hot_views_choke_on_the_poison():
        catch_up(reader, sinks)
        letters.request_retry(None, None)
        assert retry_requested(reader, sinks.each(), letters) == 0  # not fixed yet
    failed = {letter.sink: letter for letter in letters.listed()}
    assert {sink: v.attempts for sink, v in failed.items()} == {"facts": 2, "hot_views": 2}
    assert not any(letter.retry_requested for letter in failed.values())

    letters.request_retry("hot_views", None)  # the hot views' projector is fixed
    assert retry_requested(reader, sinks.each(), letters) == 1
    with facts_fixed():
        letters.request_retry("facts", failed["facts"].position)
        assert retry_requested(reader, sinks.each(), letters) == 1

    assert letters.listed() == []
    assert batches_received(facts) == [ANCIENT, "B1", "B2"]
    stock = hot_views.read([STOCK])[STOCK]
    assert stock is not None and stock["batches"][ANCIENT]["on_hand"] == 1
    assert stock["batches"]["B1"]["on_hand"] == 8  # the later sale is still counted once
    aggregate_id = failed["facts"].event_id.split(":")[0]
    assert stock["version"] == reader.history(aggregate_id)[-1].version


def test_a_rebuild_sets_the_poison_aside_and_its_letters_become_the_models(
    ledger: InventoryLedger,
    redis_views: RedisHotViews,
    facts: ClickHouseFacts,
    letters: DeadLetters,
) -> None:
    reader = LogReader(ledger)
    catch_up(reader, Sinks(hot_views=redis_views, facts=facts, letters=letters))
    with hot_views_choke_on_the_poison():
        rebuild_hot_views(reader, redis_views, show=False, letters=letters)
    rebuild_facts(reader, facts, show=False, letters=letters)
    assert letters.counts() == {"facts": 1, "hot_views": 1}
    assert batches_received(facts) == ["B1", "B2"] and units_sold(facts) == 2
    assert facts.position(CONSUMER) == redis_views.position(CONSUMER) == reader.head()

    with facts_fixed():  # a rebuild after the fix holds the event: its letter goes
        rebuild_facts(reader, facts, show=False, letters=letters)
    assert letters.counts() == {"hot_views": 1}
    assert batches_received(facts) == [ANCIENT, "B1", "B2"]


def test_a_place_redis_cannot_index_is_set_aside_and_leaves_no_half_written_view(
    store_url: str, redis_views: RedisHotViews, letters: DeadLetters
) -> None:
    app = InventoryLedger(env=eventsourcing_env(store_url))  # a log of its own
    try:
        for code, latitude in (("NORTH", 52.0), ("POLE", 95.0), ("SOUTH", -33.9)):
            app.save(Location.register(code, code.title(), "store", latitude, 18.4, shop.trace()))
        catch_up(LogReader(app), Sinks(hot_views=redis_views, letters=letters))
    finally:
        app.close()
    [letter] = letters.listed()
    assert (letter.sink, letter.event_type, letter.error) == (
        "hot_views",
        "Location.Registered",
        "ResponseError",
    )
    assert redis_views.read(["location:POLE"]) == {"location:POLE": None}  # all or nothing
    assert redis_views.nearest(18.4, -33.9, 10) == ["SOUTH"]  # the place after it is in


def corrupt_stored_event(store_url: str, position: int) -> None:
    """The stored bytes of one event no longer decode (as an upcaster bug would make them)."""
    env = eventsourcing_env(store_url)
    if env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite":
        with closing(sqlite3.connect(env["SQLITE_DBNAME"])) as conn, conn:
            conn.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", (b"{", position))
        return
    with psycopg.connect(store_url) as conn:
        conn.execute(
            "UPDATE inventory_events SET state = %s WHERE notification_id = %s", (b"{", position)
        )


def test_an_event_that_no_longer_decodes_is_set_aside_for_each_sink(
    store_url: str, ledger: InventoryLedger, facts: ClickHouseFacts, letters: DeadLetters
) -> None:
    reader = LogReader(ledger)
    sale = next(e for e in reader.read(0, 100).envelopes if e.type == "Stock.Sold")
    corrupt_stored_event(store_url, sale.position)
    views = MemoryHotViews()
    sinks = Sinks(hot_views=views, facts=facts, letters=letters)
    catch_up(LogReader(ledger), sinks)
    unreadable = [v for v in letters.listed() if v.position == sale.position]
    assert [(v.sink, v.event_id, v.event_type) for v in unreadable] == [
        ("facts", sale.event_id, "Stock.Sold"),
        ("hot_views", sale.event_id, "Stock.Sold"),
    ]
    assert sinks.positions() == {"hot_views": reader.head(), "facts": reader.head()}
    assert batches_received(facts) == ["B1", "B2"]

    rebuild_facts(LogReader(ledger), facts, show=False, letters=letters)  # the chunk fails
    rebuilt = letters.listed("facts")
    assert sorted(v.event_type for v in rebuilt) == ["Stock.BatchReceived", "Stock.Sold"]
    assert facts.position(CONSUMER) == reader.head() and batches_received(facts) == ["B1", "B2"]


def test_a_sink_that_refuses_any_write_is_waited_for_and_nothing_is_set_aside(
    ledger: InventoryLedger, facts: ClickHouseFacts, letters: DeadLetters
) -> None:
    views = MemoryHotViews()
    positions = f"`{facts.database}`.projection_positions"
    facts.client.command(f"DROP TABLE {positions} SYNC")  # readable, but takes no write:
    facts.client.command(f"CREATE VIEW {positions} AS SELECT 'x' AS consumer, 0 AS position")
    with pytest.raises(SinksHeldError) as held:
        catch_up(LogReader(ledger), Sinks(hot_views=views, facts=facts, letters=letters))
    assert list(held.value.held) == ["facts"]
    assert letters.listed() == []
    assert views.position(CONSUMER) == LogReader(ledger).head()  # the hot views went on


def test_a_follower_waits_out_an_unreachable_redis_without_setting_anything_aside(
    ledger: InventoryLedger,
    facts: ClickHouseFacts,
    letters: DeadLetters,
    caplog: pytest.LogCaptureFixture,
) -> None:
    unreachable = RedisHotViews(redis.Redis(port=1, socket_connect_timeout=0.2))
    follower = LogFollower(
        LogReader(ledger), Sinks(hot_views=unreachable, facts=facts, letters=letters)
    )
    with caplog.at_level(logging.WARNING):
        follower.start()
        try:
            wait_until(lambda: follower.backoff.failures >= 3)
        finally:
            follower.stop()
    assert letters.counts() == {"facts": 1}  # only the real poison, none for the outage
    assert facts.position(CONSUMER) == LogReader(ledger).head()  # facts went on
    paused = [r for r in caplog.records if "projection paused" in r.getMessage()]
    assert len(paused) == 1 and paused[0].exc_info is None  # one line, no traceback
    assert follower.backoff.failed(ConnectionError()) > follower.backoff.first * 4  # it grows


def wait_until(condition, seconds: float = 20) -> None:  # type: ignore[no-untyped-def]
    import time

    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
