"""A rebuild's pass over the whole log into fresh stores that only it writes.

The next page is read and decoded in a thread while the current one is projected, so that
PostgreSQL's work, chDB's and Redis's overlap with Python's. The stores' positions are read
once at the start; after that each page starts where the previous one ended. The cyclic
garbage collector is paused meanwhile: pages are thousands of acyclic objects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa  # type: ignore[import-untyped]

from audit.bulk_reading import collector_paused
from projections.clickhouse_facts import ClickHouseFacts, FactBatches, fact_batches
from projections.columnar_insert import RowEncoder
from projections.facts import no_rows
from streams.embedded_driver import CONSUMER, Progress, Sinks
from streams.log_reader import LogReader
from streams.read_ahead import read_ahead
from streams.stored_envelopes import StoredRow

REBUILD_PAGE = 20_000  # larger pages: fewer inserts into ClickHouse, each with its fixed cost
REBUILD_CHUNK = 4_000  # what the fetching and decoding stages hand on: small, so they overlap


def replay(
    reader: LogReader, sinks: Sinks, page: int = REBUILD_PAGE, progress: Progress | None = None
) -> int:
    """Project every event after the sinks' positions up to the head; returns events read."""
    positions = sinks.positions()
    after = min(positions.values(), default=0)
    read = 0
    with collector_paused(), ThreadPoolExecutor(1, thread_name_prefix="replay-reader") as ahead:
        pending = ahead.submit(reader.read, after, page)
        while True:
            batch = pending.result()
            if batch.last_position == after:
                return read
            after = batch.last_position
            pending = ahead.submit(reader.read, after, page)
            sinks.apply(batch.envelopes, batch.last_position, positions)
            positions = dict.fromkeys(positions, batch.last_position)
            read += len(batch.envelopes)
            if progress is not None:
                progress(batch.last_position)


def replay_facts(
    reader: LogReader,
    facts: Callable[[], ClickHouseFacts],
    encoder: RowEncoder,
    after: int,
    progress: Progress | None = None,
) -> int:
    """`replay` into fact tables alone, from `after` (their position), in three stages that
    overlap: one thread fetches the next chunk of the log, another makes the fact rows of the
    chunk before (`facts_of`: no envelopes for the sales) and their Arrow columns, and this
    one inserts them, REBUILD_PAGE events at a time (ClickHouse spends a few ms on every
    insert however small), then the position. `facts` is asked for the tables once the first
    insert is due (a rebuild makes them meanwhile)."""
    read = pending = 0
    batches: FactBatches = {}
    with collector_paused():
        chunks = read_ahead(reader.stored_pages(after, REBUILD_CHUNK), "replay-fetch")
        for position, found, events in read_ahead(
            _fact_chunks(reader, chunks, encoder), "replay-facts"
        ):
            for table, batch in found.items():
                batches.setdefault(table, []).append(batch)
            pending, after, read = pending + events, position, read + events
            if pending >= REBUILD_PAGE:
                facts().write_batches(batches, CONSUMER, after)
                batches, pending = {}, 0
            if progress is not None:
                progress(position)
        if batches:
            facts().write_batches(batches, CONSUMER, after)
    return read


def _fact_chunks(
    reader: LogReader, chunks: Iterator[list[StoredRow]], encoder: RowEncoder
) -> Iterator[tuple[int, dict[str, pa.RecordBatch], int]]:
    """(last position, record batch of each table's rows, published events) of each chunk."""
    for stored in chunks:
        rows = no_rows()
        events = reader.facts_of(stored, rows)
        yield stored[-1][0], fact_batches(encoder, rows), events
