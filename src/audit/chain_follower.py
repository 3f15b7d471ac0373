"""The tracked follower that extends the hash chain over new rows of the event log.

Each batch of links is written in one transaction together with the follower's position (the
highest chained position is the position), under an advisory lock so two followers never
interleave. Interrupting it loses at most the batch in flight; the next run resumes there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg

from audit.chain_links import GENESIS, STORED_ROWS_AFTER, next_link

# "audit" in ASCII: the key of the advisory lock every chain follower takes.
CHAIN_LOCK_KEY = 0x6175646974
BATCH_SIZE = 10_000

Progress = Callable[[int], None]


def chain_head(conn: psycopg.Connection[Any]) -> tuple[int, bytes]:
    row = conn.execute("SELECT position, link FROM audit_chain ORDER BY position DESC LIMIT 1")
    found = row.fetchone()
    return (0, GENESIS) if found is None else (int(found[0]), bytes(found[1]))


def log_head(conn: psycopg.Connection[Any]) -> int:
    found = conn.execute("SELECT max(notification_id) FROM inventory_events").fetchone()
    return int(found[0]) if found and found[0] is not None else 0


def unchained_rows(conninfo: str) -> int:
    with psycopg.connect(conninfo) as conn:
        position, _ = chain_head(conn)
        found = conn.execute(
            "SELECT count(*) FROM inventory_events WHERE notification_id > %s", (position,)
        ).fetchone()
    return int(found[0]) if found else 0


def extend_chain(
    conninfo: str, progress: Progress | None = None, batch_size: int = BATCH_SIZE
) -> int:
    """Chain every row recorded after the chain's head; returns how many rows it chained."""
    chained = 0
    with psycopg.connect(conninfo) as conn:
        while True:
            added = _extend_once(conn, batch_size)
            if not added:
                return chained
            chained += added
            if progress is not None:
                progress(added)


def _extend_once(conn: psycopg.Connection[Any], batch_size: int) -> int:
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (CHAIN_LOCK_KEY,))
        position, link = chain_head(conn)
        rows = conn.execute(STORED_ROWS_AFTER, (position, batch_size)).fetchall()
        links = []
        for row in rows:
            link = next_link(link, *row)
            links.append((row[0], link))
        with conn.cursor().copy("COPY audit_chain (position, link) FROM STDIN") as copy:
            for record in links:
                copy.write_row(record)
    return len(rows)
