"""The hot-view stores (Redis, in-process) and the ClickHouse facts on chDB apply batches
exactly once, however often a batch is delivered."""

from __future__ import annotations

from datetime import UTC, datetime

import shop
from busy_day import busy_day

from projections.clickhouse_facts import MIGRATIONS_DIRECTORY as MIGRATIONS
from projections.clickhouse_facts import ClickHouseFacts, apply_migrations
from projections.facts import KEYS, TABLES, as_dicts, batch_rows
from projections.hot_view_store import HotViewStore, apply_batch
from projections.hot_views import ViewWrite, fold


def clean_documents(envelopes) -> dict:
    return {key: write.document for key, write in fold({}, envelopes).items()}


def deliver_twice_in_batches(store: HotViewStore, envelopes, size: int) -> None:
    for start in range(0, len(envelopes), size):
        batch = envelopes[start : start + size]
        apply_batch(store, batch, "worker", batch[-1].position)
        apply_batch(
            store, envelopes[max(0, start - size) : start + size], "worker", batch[-1].position
        )


def test_a_store_applies_each_event_once_and_records_the_position(hot_views) -> None:
    log = busy_day()
    deliver_twice_in_batches(hot_views, log.envelopes, 7)
    assert hot_views.all_documents() == clean_documents(log.envelopes)
    assert hot_views.position("worker") == log.envelopes[-1].position


def test_a_write_computed_from_a_stale_document_is_refused(hot_views) -> None:
    log = busy_day()
    apply_batch(hot_views, log.envelopes, "worker", 1)
    key = f"stock:{shop.RED}@{shop.WAREHOUSE}"
    stale = ViewWrite(key, 1, {"version": 99})
    assert hot_views.apply([stale], "other", 5) == [key]
    assert hot_views.position("other") == 0


def test_the_indexes_find_locations_reservations_and_where_a_sku_is(hot_views) -> None:
    log = busy_day()
    apply_batch(hot_views, log.envelopes, "worker", 1)
    assert hot_views.members(f"sku-locations:{shop.RED}") == sorted([shop.WAREHOUSE, shop.STORE])
    assert set(hot_views.nearest(4.89, 52.37, 10)) == {shop.WAREHOUSE, shop.STORE}
    open_one = hot_views.open_reservations_due(datetime(2100, 1, 1).timestamp())
    assert len(open_one) == 1


def test_facts_written_twice_are_read_once(facts: ClickHouseFacts) -> None:
    log = busy_day()
    rows = batch_rows(log.envelopes)
    facts.write(rows, "worker", 10)
    facts.write(rows, "worker", log.envelopes[-1].position)
    for table in TABLES:
        expected = {tuple(r[c] for c in KEYS[table]) for r in as_dicts(rows)[table]}
        assert len(facts.table_rows(table)) == len(expected), table
    assert facts.position("worker") == log.envelopes[-1].position
    sold = facts.rows("SELECT sum(quantity) AS units FROM sales_lines FINAL")
    assert sold == [{"units": 3}]


def test_the_clickhouse_migrations_apply_once(facts: ClickHouseFacts) -> None:
    assert apply_migrations(facts.client) == []
    names = facts.rows("SELECT name FROM glow_schema_migrations FINAL ORDER BY name")
    assert [row["name"] for row in names] == [
        path.name for path in sorted(MIGRATIONS.glob("*.sql"))
    ]
    assert names[:4] == [
        {"name": "0001_facts.sql"},
        {"name": "0002_order_facts.sql"},
        {"name": "0003_behaviour.sql"},
        {"name": "0004_segments.sql"},
    ]


def test_a_rebuilt_shadow_swaps_in_for_the_live_tables(facts: ClickHouseFacts) -> None:
    log = busy_day()
    facts.write(batch_rows(log.envelopes[:5]), "worker", 5)
    shadow = facts.shadow()
    shadow.write(batch_rows(log.envelopes), "worker", log.envelopes[-1].position)
    facts.swap_in(shadow)
    shadow.close()
    assert facts.position("worker") == log.envelopes[-1].position
    assert facts.rows("SELECT sum(quantity) AS units FROM sales_lines FINAL") == [{"units": 3}]


def test_a_server_that_refuses_merge_control_still_gets_its_rebuild(
    facts: ClickHouseFacts, monkeypatch
) -> None:
    """SYSTEM STOP/START MERGES needs a privilege a real ClickHouse user may lack."""
    from clickhouse_connect.driver.exceptions import DatabaseError

    command = facts.client.command
    refused: list[str] = []

    def without_system(statement: str, *args, **kwargs):
        if statement.startswith("SYSTEM"):
            refused.append(statement)
            raise DatabaseError("Not enough privileges: SYSTEM MERGES")
        return command(statement, *args, **kwargs)

    monkeypatch.setattr(facts.client, "command", without_system)
    log = busy_day()
    shadow = facts.shadow()
    shadow.write(batch_rows(log.envelopes), "worker", log.envelopes[-1].position)
    facts.swap_in(shadow)
    assert len(refused) == 2 * len(TABLES) + 2  # stop and start, each fact table + positions
    assert facts.position("worker") == log.envelopes[-1].position
    assert facts.rows("SELECT sum(quantity) AS units FROM sales_lines FINAL") == [{"units": 3}]


TIMES = {"occurred_at", "recorded_at", "expires_at"}


def test_facts_keep_every_value_as_projected(facts: ClickHouseFacts) -> None:
    """Times to the microsecond in UTC, prices to the cent, expiries, nulls (the columns go in
    as ticks and arrays, not as the rows the projector gives)."""
    rows = batch_rows(busy_day().envelopes)
    facts.write(rows, "worker", 1)
    for table in ("sales_lines", "stock_movements", "reservation_events", "returns"):
        stored = facts.rows(f"SELECT * FROM {table} FINAL")
        columns = list(stored[0])
        named = as_dicts(rows)[table]
        expected = [tuple(_as_read(c, row[c]) for c in columns if c in row) for row in named]
        assert sorted(tuple(r[c] for c in columns) for r in stored) == sorted(expected), table


def _as_read(column: str, value: object) -> object:
    """chDB gives DateTime64 columns back as naive UTC datetimes (the rows carry times as the
    envelope's ISO-8601 text)."""
    if column in TIMES and isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value
