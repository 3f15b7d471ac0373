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
from events.published import event_type_of
from projections.clickhouse_facts import ClickHouseFacts, FactBatches, fact_batches
from projections.columnar_insert import RowEncoder
from projections.facts import no_rows
from storage.log_stream import StoredRow
from streams.dead_letters import DeadLetters
from streams.embedded_driver import CONSUMER, Progress, Sinks
from streams.isolation import apply_page
from streams.log_reader import LogBatch, LogReader
from streams.outages import is_outage
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
    page_read = LogBatch([], after)
    with collector_paused():
        chunks = read_ahead(reader.stored_pages(after, min(page, REBUILD_CHUNK)), "replay-fetch")
        decoded = read_ahead((reader.envelopes_of(chunk) for chunk in chunks), "replay-decode")
        for batch in decoded:
            page_read.envelopes.extend(batch.envelopes)
            page_read.unreadable.extend(batch.unreadable)
            after = batch.last_position
            if len(page_read.envelopes) >= page:
                read += _apply(sinks, page_read, after, positions, progress)
                positions, page_read = dict.fromkeys(positions, after), LogBatch([], after)
        if after > min(positions.values(), default=after):
            read += _apply(sinks, page_read, after, positions, progress)
    return read


def _apply(
    sinks: Sinks,
    page_read: LogBatch,
    last_position: int,
    positions: dict[str, int],
    progress: Progress | None,
) -> int:
    sinks.apply(page_read.envelopes, last_position, positions, unreadable=page_read.unreadable)
    if progress is not None:
        progress(last_position)
    return len(page_read.envelopes)


def replay_facts(
    reader: LogReader,
    facts: Callable[[], ClickHouseFacts],
    encoder: RowEncoder,
    after: int,
    progress: Progress | None = None,
    letters: DeadLetters | None = None,
) -> int:
    """`replay` into fact tables alone, from `after` (their position), in three stages that
    overlap: one thread fetches the next chunk of the log, another makes the fact rows of the
    chunk before (`facts_of`: no envelopes for the sales) and their Arrow columns, and this
    one inserts them, REBUILD_PAGE events at a time (ClickHouse spends a few ms on every
    insert however small), then the position. `facts` is asked for the tables once the first
    insert is due (a rebuild makes them meanwhile).

    With `letters`, a chunk that does not make its rows, or an insert that fails, is done
    again through the envelopes (`_project_range`), where each event the tables cannot take
    is set aside; without, the failure is raised."""
    read = pending = 0
    written = after
    batches: FactBatches = {}
    with collector_paused():
        chunks = read_ahead(reader.stored_pages(after, REBUILD_CHUNK), "replay-fetch")
        for position, found, events in read_ahead(
            _fact_chunks(reader, chunks, encoder, isolating=letters is not None), "replay-facts"
        ):
            if found is None:  # the chunk failed: what came before it goes in, then the chunk
                _insert(reader, facts(), batches, written, after, letters)
                _project_range(reader, facts(), after, position, letters)
                batches, pending, written = {}, 0, position
            for table, batch in (found or {}).items():
                batches.setdefault(table, []).append(batch)
            pending, after, read = pending + events, position, read + events
            if pending >= REBUILD_PAGE:
                _insert(reader, facts(), batches, written, after, letters)
                batches, pending, written = {}, 0, after
            if progress is not None:
                progress(position)
        if after > written:  # the rest, or only the position when the tail gave no rows
            _insert(reader, facts(), batches, written, after, letters)
    return read


def _insert(
    reader: LogReader,
    facts: ClickHouseFacts,
    batches: FactBatches,
    written: int,
    after: int,
    letters: DeadLetters | None,
) -> None:
    """Insert the batches of the events in (written, after] and record `after`."""
    try:
        facts.write_batches(batches, CONSUMER, after)
    except Exception as error:
        if letters is None or is_outage(error):
            raise
        _project_range(reader, facts, written, after, letters)


def _project_range(
    reader: LogReader, facts: ClickHouseFacts, after: int, until: int, letters: DeadLetters | None
) -> None:
    """The events in (after, until] through their envelopes, setting aside what fails."""
    [sink] = Sinks(facts=facts).each()
    while after < until:
        batch = reader.read(after, REBUILD_CHUNK, stop=until)
        apply_page(sink, batch.envelopes, batch.last_position, letters, unreadable=batch.unreadable)
        after = batch.last_position


def _fact_chunks(
    reader: LogReader, chunks: Iterator[list[StoredRow]], encoder: RowEncoder, *, isolating: bool
) -> Iterator[tuple[int, dict[str, pa.RecordBatch] | None, int]]:
    """(last position, record batch of each table's rows, published events) of each chunk;
    when isolating, a chunk that fails gives None for its batches instead of the error."""
    for stored in chunks:
        rows = no_rows()
        try:
            events = reader.facts_of(stored, rows)
            batches = fact_batches(encoder, rows)
        except Exception as error:
            if not isolating or is_outage(error):
                raise
            yield stored[-1][0], None, sum(1 for row in stored if event_type_of(row[3]))
            continue
        yield stored[-1][0], batches, events
