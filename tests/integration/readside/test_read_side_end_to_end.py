"""Commands through the API end up in Redis and ClickHouse (chDB); the read routes say how
far behind the log they are; a rebuild from the log equals the live models row for row."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator

import httpx
import pytest

from configuration.settings import Settings
from projections.clickhouse_facts import ClickHouseFacts
from projections.facts import TABLES
from projections.redis_views import RedisHotViews
from service_layer.read_side import ReadSide
from streams import replay
from streams.rebuild import rebuild_facts, rebuild_hot_views
from tests.e2e.conftest import scratch_database
from tests.e2e.ledger_server import RunningLedger, auth_headers, ok, post, serve, stocked_sku


@pytest.fixture
def running(redis_url: str, analytics_url: str) -> Iterator[RunningLedger]:
    namespace = f"glow-test-{secrets.token_hex(4)}"
    with scratch_database() as store_url:
        settings = Settings(
            event_store_url=store_url,
            hot_views_url=f"{redis_url}?namespace={namespace}",
            analytics_url=analytics_url,
        )
        with serve(settings) as ledger:
            yield ledger
        RedisHotViews.from_url(redis_url, namespace).drop_everything()


def caught_up(client: httpx.Client, path: str) -> dict:
    deadline = time.monotonic() + 20
    while True:
        body = client.get(path).json()
        if body["log"]["behind"] == 0 or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def trade(client: httpx.Client) -> None:
    stocked_sku(client, "SERUM-1", "PARIS", {"B1": 10, "B2": 5})
    reservation = {"lines": [{"sku": "SERUM-1", "location": "PARIS", "quantity": 3}]}
    placed = ok(post(client, "/reservations", reservation))
    ok(post(client, f"/reservations/{placed['reservation_id']}/confirm", {}))
    ok(
        post(
            client,
            "/reservations",
            {**reservation, "lines": [{**reservation["lines"][0], "quantity": 2}]},
        )
    )
    ok(post(client, "/sales", {"lines": [{"sku": "SERUM-1", "location": "PARIS", "quantity": 1}]}))


def test_commands_through_the_api_end_up_in_the_read_models(running: RunningLedger) -> None:
    with httpx.Client(headers=auth_headers(), base_url=running.base_url, timeout=30) as client:
        trade(client)
        view = caught_up(client, "/availability/SERUM-1?location=PARIS")
        truth = client.get("/skus/SERUM-1/stock/PARIS").json()
        assert view["log"]["behind"] == 0 and view["log"]["head"] > 0
        for figure in ("on_hand", "reserved", "available", "next_expiry"):
            assert view["availability"][figure] == truth[figure], figure
        many = client.get("/availability?skus=SERUM-1,NOPE").json()["skus"]
        assert [s["available"] for s in many] == [truth["available"], 0]
        nearest = client.get("/availability/SERUM-1/nearest?lat=48.9&lon=2.3&quantity=2").json()
        assert nearest["nearest"]["location"] == "PARIS"
        sales = caught_up(client, "/analytics/daily-sales")
        assert sum(row["units"] for row in sales["rows"]) == 4
        conversion = client.get("/analytics/reservation-conversion").json()["rows"]
        assert [(r["placed"], r["confirmed"], r["open"]) for r in conversion] == [(2, 1, 1)]


def test_each_stock_answer_says_whether_it_is_the_ledgers_or_projected_and_how_far_behind(
    running: RunningLedger,
) -> None:
    with httpx.Client(headers=auth_headers(), base_url=running.base_url, timeout=30) as client:
        stocked_sku(client, "SERUM-1", "PARIS", {"B1": 10})
        ledger = client.get("/skus/SERUM-1/stock").json()
        at_paris = client.get("/skus/SERUM-1/stock/PARIS").json()
        projected = caught_up(client, "/availability/SERUM-1")
    assert ledger["source"] == at_paris["source"] == "ledger"
    assert "log" not in ledger  # strongly consistent: nothing to be behind
    assert projected["source"] == "projected"
    log = projected["log"]
    assert log["behind"] == 0 and log["position"] == log["head"] > 0


def traded_and_projected(running: RunningLedger) -> tuple[ReadSide, RedisHotViews, ClickHouseFacts]:
    """The ledger after `trade`, once both read models have caught up with it."""
    with httpx.Client(headers=auth_headers(), base_url=running.base_url, timeout=30) as client:
        trade(client)
        caught_up(client, "/availability/SERUM-1")
        caught_up(client, "/analytics/daily-sales")
    side = running.runtime.read_side
    assert side is not None
    views, facts = side.sinks.hot_views, side.sinks.facts
    assert isinstance(views, RedisHotViews) and isinstance(facts, ClickHouseFacts)
    return side, views, facts


@pytest.mark.parametrize("chunk, group", [(None, None), (2, 5)], ids=["one page", "many pages"])
def test_a_rebuild_from_the_log_equals_the_live_read_models(
    running: RunningLedger, monkeypatch: pytest.MonkeyPatch, chunk: int | None, group: int | None
) -> None:
    if chunk is not None:  # the facts' pass in chunks of 2 events, inserted 5 at a time
        monkeypatch.setattr(replay, "REBUILD_CHUNK", chunk)
        monkeypatch.setattr(replay, "REBUILD_PAGE", group)
    side, views, facts = traded_and_projected(running)
    live_documents = views.all_documents()
    live_rows = {table: facts.table_rows(table) for table in TABLES}
    rebuild_hot_views(side.reader, views, show=False)
    rebuild_facts(side.reader, facts, show=False)
    assert views.all_documents() == live_documents
    assert {table: facts.table_rows(table) for table in TABLES} == live_rows
    assert len(live_documents) >= 5 and sum(map(len, live_rows.values())) >= 10


def test_a_rebuild_that_fails_midway_leaves_the_live_models_and_nothing_else(
    running: RunningLedger, monkeypatch
) -> None:
    side, views, facts = traded_and_projected(running)
    live_documents = views.all_documents()
    live_rows = {table: facts.table_rows(table) for table in TABLES}
    live_keys = set(views.client.scan_iter(match=views.namespace + ":*"))
    databases = facts.rows("SELECT name FROM system.databases ORDER BY name")

    reads = 0

    def failing_after_one_page(read):  # the store goes away after the first page
        def read_then_fail(*args, **kwargs):
            nonlocal reads
            reads += 1
            if reads > 1:
                raise ConnectionError("the event store went away")
            return read(*args, **kwargs)

        return read_then_fail

    def failing_after_one_chunk(pages):  # the facts' pass streams the log
        def stream_then_fail(*args, **kwargs):
            stream = pages(*args, **kwargs)
            yield next(stream)
            stream.close()
            raise ConnectionError("the event store went away")

        return stream_then_fail

    monkeypatch.setattr(side.reader, "read", failing_after_one_page(side.reader.read))
    monkeypatch.setattr(
        side.reader, "stored_pages", failing_after_one_chunk(side.reader.stored_pages)
    )
    for rebuild, live in ((rebuild_hot_views, views), (rebuild_facts, facts)):
        reads = 0
        with pytest.raises(ConnectionError):
            rebuild(side.reader, live, show=False)  # type: ignore[operator]
    assert views.all_documents() == live_documents
    assert {table: facts.table_rows(table) for table in TABLES} == live_rows
    # No half-built generation or shadow database is left behind (the generation counter
    # is the one key a failed rebuild adds).
    assert set(views.client.scan_iter(match=views.namespace + ":*")) - live_keys <= {
        views.namespace + ":generations"
    }
    assert facts.rows("SELECT name FROM system.databases ORDER BY name") == databases


def test_the_embedded_default_serves_the_same_read_models_on_sqlite(
    tmp_path, analytics_url: str
) -> None:
    """No services: SQLite store, the in-process hot-view store, chDB."""
    settings = Settings(
        event_store_url=f"sqlite:///{tmp_path / 'ledger.sqlite'}",
        hot_views_url="memory://",
        analytics_url=analytics_url,
    )
    with (
        serve(settings) as ledger,
        httpx.Client(headers=auth_headers(), base_url=ledger.base_url, timeout=30) as client,
    ):
        trade(client)
        view = caught_up(client, "/availability/SERUM-1")
        truth = client.get("/skus/SERUM-1/stock").json()
        assert view["log"]["behind"] == 0
        for figure in ("on_hand", "reserved", "available"):
            assert view["availability"][figure] == truth[figure], figure
        assert sum(r["units"] for r in caught_up(client, "/analytics/daily-sales")["rows"]) == 4
