"""A rebuild's pass over the whole log into fresh stores that only it writes.

The next page is read and decoded in a thread while the current one is projected, so that
PostgreSQL's work, chDB's and Redis's overlap with Python's. The stores' positions are read
once at the start; after that each page starts where the previous one ended. The cyclic
garbage collector is paused meanwhile: pages are thousands of acyclic objects.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from audit.bulk_reading import collector_paused
from projections.clickhouse_facts import ClickHouseFacts
from projections.facts import Rows, no_rows
from streams.embedded_driver import CONSUMER, Progress, Sinks
from streams.log_reader import LogReader

REBUILD_PAGE = 20_000  # larger pages: fewer inserts into ClickHouse, each with its fixed cost


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
    facts: ClickHouseFacts,
    page: int = REBUILD_PAGE,
    progress: Progress | None = None,
) -> int:
    """`replay` into fact tables alone: the reader gives each page's rows (`read_facts`), with
    no envelopes for the sales in between; the position is written after each page's rows."""
    after = facts.position(CONSUMER)
    read = 0

    def rows_after(start: int) -> tuple[Rows, int, int]:
        rows = no_rows()
        events, last = reader.read_facts(start, page, rows)
        return rows, events, last

    with collector_paused(), ThreadPoolExecutor(1, thread_name_prefix="replay-reader") as ahead:
        pending = ahead.submit(rows_after, after)
        while True:
            rows, events, last = pending.result()
            if last == after:
                return read
            after = last
            pending = ahead.submit(rows_after, after)
            facts.write(rows, CONSUMER, last)
            read += events
            if progress is not None:
                progress(last)
