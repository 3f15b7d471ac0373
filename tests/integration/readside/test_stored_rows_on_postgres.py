"""On PostgreSQL the reader takes the log as plain rows (ids as text) and decodes them
straight from the stored JSON: the same envelopes, byte for byte, as the ledger's mapper
gives, from the start of the log or from the middle (subjects then come from the store). The
rebuild's pass, reading the next page ahead, builds what a single page builds; the facts'
rebuild streams the log through one cursor, chunk by chunk."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from every_event import every_event_with_odd_values
from psycopg import pq

from configuration.settings import eventsourcing_env
from domain.ledger import InventoryLedger
from events.envelope import SUBJECT_FIELDS, Envelope
from projections.clickhouse_facts import ClickHouseFacts
from projections.facts import KEYS, TABLES, as_dicts, batch_rows, no_rows
from projections.memory_views import MemoryHotViews
from streams.embedded_driver import CONSUMER, Sinks, catch_up
from streams.log_reader import LogReader, SubjectBook
from streams.rebuild import rebuild_facts
from streams.replay import replay
from streams.stored_envelopes import StoredRowSource, StoredRowStream
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


def through_mapper(ledger: InventoryLedger) -> LogReader:
    reader = LogReader(ledger)
    reader.stored = None
    return reader


def as_json(envelopes: list[Envelope]) -> list[bytes]:
    return [envelope.to_json() for envelope in envelopes]


def test_the_ledgers_recorder_gives_the_log_as_stored_rows(ledger: InventoryLedger) -> None:
    assert isinstance(ledger.recorder, StoredRowSource)
    rows = ledger.recorder.select_stored_rows(0, 3)
    assert [row[0] for row in rows] == [1, 2, 3]
    assert all(isinstance(row[1], str) and isinstance(row[4], bytes) for row in rows)


def test_the_whole_log_decodes_as_the_mapper_decodes_it(ledger: InventoryLedger) -> None:
    fast = LogReader(ledger).read(0, 10_000)
    slow = through_mapper(ledger).read(0, 10_000)
    assert len(fast.envelopes) > 40
    assert as_json(fast.envelopes) == as_json(slow.envelopes)
    assert fast.last_position == slow.last_position


def test_a_page_from_the_middle_of_the_log_decodes_the_same(ledger: InventoryLedger) -> None:
    head = LogReader(ledger).head()
    fast = LogReader(ledger).read(head // 2, 7, stop=head - 2)
    slow = through_mapper(ledger).read(head // 2, 7, stop=head - 2)
    assert as_json(fast.envelopes) == as_json(slow.envelopes)
    named = {event_type.split(".")[0] for event_type in SUBJECT_FIELDS}  # kinds with a subject
    assert all(e.subject for e in fast.envelopes if e.type.split(".")[0] in named)
    assert any(e.type.split(".")[0] in named for e in fast.envelopes)


def test_a_replay_in_small_pages_read_ahead_builds_what_one_page_builds(
    ledger: InventoryLedger, facts: ClickHouseFacts
) -> None:
    paged, whole = MemoryHotViews(), MemoryHotViews()
    events = replay(LogReader(ledger), Sinks(hot_views=paged, facts=facts), page=4)
    assert catch_up(LogReader(ledger), Sinks(hot_views=whole), page=10_000) == events
    assert paged.all_documents() == whole.all_documents()
    head = LogReader(ledger).head()
    assert paged.position(CONSUMER) == facts.position(CONSUMER) == head
    envelopes = LogReader(ledger).read(0, 10_000).envelopes
    for table, rows in as_dicts(batch_rows(envelopes)).items():
        expected = {tuple(row[c] for c in KEYS[table]) for row in rows}
        assert len(facts.table_rows(table)) == len(expected), table


def test_a_reader_from_the_middle_learns_the_subjects_of_a_page_in_one_query(
    ledger: InventoryLedger,
) -> None:
    reader = LogReader(ledger)

    def one_by_one(_: object) -> None:
        raise AssertionError("a creation event loaded on its own")

    reader.book = SubjectBook(one_by_one)
    head = reader.head()
    stocks = [e for e in reader.read(head // 2, 1000).envelopes if e.type.startswith("Stock.")]
    assert stocks and all(e.subject.keys() == {"sku", "location"} for e in stocks)


def test_the_streamed_log_is_the_paged_log_in_chunks(ledger: InventoryLedger) -> None:
    recorder = ledger.recorder
    assert isinstance(recorder, StoredRowStream)
    paged = recorder.select_stored_rows(4, 10_000)
    chunks = list(recorder.stream_stored_rows(4, 7))
    assert [len(chunk) for chunk in chunks[:-1]] == [7] * (len(chunks) - 1)
    assert [row for chunk in chunks for row in chunk] == paged
    assert list(recorder.stream_stored_rows(paged[-1][0], 7)) == []


def test_a_stream_closed_midway_leaves_its_connection_idle_for_the_next(
    ledger: InventoryLedger,
) -> None:
    recorder = ledger.recorder
    assert isinstance(recorder, StoredRowStream)
    for _ in range(3):  # more than once: each time on an idle pooled connection
        stream = recorder.stream_stored_rows(0, 5)
        assert [row[0] for row in next(stream)] == [1, 2, 3, 4, 5]
        stream.close()
    with ledger.recorder.datastore.get_connection() as conn:  # type: ignore[attr-defined]
        assert conn.pgconn.transaction_status == pq.TransactionStatus.IDLE
        assert conn.execute("SELECT count(*) FROM pg_cursors").fetchone()["count"] == 0


def test_the_rows_of_the_streamed_log_are_the_envelope_paths_rows(ledger: InventoryLedger) -> None:
    reader = LogReader(ledger)
    streamed = no_rows()
    for chunk in reader.stored_pages(0, 5):
        reader.facts_of(chunk, streamed)
    expected = batch_rows(LogReader(ledger).read(0, 10_000).envelopes)
    assert {t: Counter(rows) for t, rows in streamed.items()} == {
        t: Counter(rows) for t, rows in expected.items()
    }
    assert len(streamed["sales_lines"]) >= 3


def test_a_facts_rebuild_records_the_head_even_when_the_last_events_give_no_rows(
    facts: ClickHouseFacts,
) -> None:
    """Sales channels' rules give no fact rows: the rebuilt tables must still say they are at
    the head, or the live driver would project the whole log again after the swap."""
    places = [
        e for e in every_event_with_odd_values() if type(e).__qualname__.startswith("SalesChannel")
    ]
    with scratch_database() as url:
        app = InventoryLedger(env=eventsourcing_env(url))
        try:
            app.save(*places)
            reader = LogReader(app)
            rebuilt = rebuild_facts(reader, facts, show=False)
            assert rebuilt.events > 0 and rebuilt.position == reader.head() > 0
            assert facts.position(CONSUMER) == reader.head()
            assert all(facts.table_rows(table) == [] for table in TABLES)
        finally:
            app.close()
