"""A rebuild's pass over the whole log into fresh stores that only it writes.

The log is streamed in chunks (one cursor), the next chunk fetched and the one before decoded
in threads of their own while this one applies what they made, so that PostgreSQL's work,
chDB's and Redis's overlap with Python's. The stores' positions are read once at the start;
after that each page starts where the previous one ended. The cyclic garbage collector is
paused meanwhile: pages are thousands of acyclic objects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pyarrow as pa  # type: ignore[import-untyped]

from audit.bulk_reading import collector_paused
from projections.clickhouse_facts import ClickHouseFacts, FactBatches, fact_batches
from projections.columnar_insert import RowEncoder
from projections.facts import no_rows
from service_layer.log_stream import StoredRow
from streams.embedded_driver import CONSUMER, Progress, Sinks
from streams.envelope import Envelope
from streams.log_reader import LogReader
from streams.read_ahead import read_ahead

REBUILD_PAGE = 20_000  # larger pages: fewer inserts into ClickHouse, each with its fixed cost
REBUILD_CHUNK = 4_000  # what the fetching and decoding stages hand on: small, so they overlap


def replay(
    reader: LogReader, sinks: Sinks, page: int = REBUILD_PAGE, progress: Progress | None = None
) -> int:
    """Project every event after the sinks' positions up to the head, `page` events or more
    at a time; returns events read. One thread fetches the next chunk of the log, another
    decodes the chunk before it, and this one applies what they made."""
    positions = sinks.positions()
    after = min(positions.values(), default=0)
    read = 0
    envelopes: list[Envelope] = []
    with collector_paused():
        chunks = read_ahead(reader.stored_pages(after, min(page, REBUILD_CHUNK)), "replay-fetch")
        decoded = read_ahead((reader.envelopes_of(chunk) for chunk in chunks), "replay-decode")
        for batch in decoded:
            envelopes += batch.envelopes
            after = batch.last_position
            if len(envelopes) >= page:
                read += _apply(sinks, envelopes, after, positions, progress)
                positions, envelopes = dict.fromkeys(positions, after), []
        if after > min(positions.values(), default=after):
            read += _apply(sinks, envelopes, after, positions, progress)
    return read


def _apply(
    sinks: Sinks,
    envelopes: list[Envelope],
    last_position: int,
    positions: dict[str, int],
    progress: Progress | None,
) -> int:
    sinks.apply(envelopes, last_position, positions)
    if progress is not None:
        progress(last_position)
    return len(envelopes)


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
    written = after
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
                batches, pending, written = {}, 0, after
            if progress is not None:
                progress(position)
        if after > written:  # the rest, or only the position when the tail gave no rows
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
