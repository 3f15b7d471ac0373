"""One command writer per store: the writer process leads only while it holds a PostgreSQL
session-level advisory lock, on a connection of its own, and a second writer for the same
store waits for it instead of writing (service_layer/writer_server.py).

Advisory locks are scoped to one database, and a store is one database, so one key serves
every store: two ledgers in two databases never wait for each other. The lock lives as long
as its session: if the leading process dies, or its connection does, PostgreSQL ends the
session and a waiting writer takes the lock at its next try. Optimistic concurrency still
guards every aggregate; the lock keeps a second writer from deciding (and conflicting) at
all, so a replica of the API stands by instead of racing.
"""

from __future__ import annotations

from typing import Any

import psycopg

# "glowwrtr" in ASCII, as a signed 64-bit key (the migrations' lock is "glow", 32-bit).
WRITER_LOCK_KEY = int.from_bytes(b"glowwrtr", "big", signed=True)
# pg_locks shows a bigint key as its high and low 32 bits (classid, objid), objsubid 1.
HELD_HERE = """
SELECT count(*) FROM pg_locks l
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.classid = %s::bigint::oid AND l.objid = %s::bigint::oid
  AND l.pid = pg_backend_pid()
"""
HOLDER = """
SELECT (SELECT a.client_addr::text FROM pg_stat_activity a WHERE a.pid = l.pid), l.pid
FROM pg_locks l
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.classid = %s::bigint::oid AND l.objid = %s::bigint::oid
LIMIT 1
"""


class WriterLock:
    """The store's writer lock, on a dedicated autocommit session."""

    def __init__(self, conninfo: str, key: int = WRITER_LOCK_KEY) -> None:
        self._conninfo = conninfo
        self._key = key
        self._conn: psycopg.Connection[Any] | None = None
        self.held = False

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; False (at once) if another session does.
        A connection that fails raises psycopg.OperationalError: the caller retries."""
        if self.held:
            return True
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(
                self._conninfo, autocommit=True, application_name="glow-writer-lock"
            )
        row = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (self._key,)).fetchone()
        self.held = bool(row and row[0])
        return self.held

    def still_held(self) -> bool:
        """Whether the session that took the lock is still there (so the lock is): a cheap
        round trip on it. False once the connection is gone: the lock went with it."""
        if not self.held or self._conn is None:
            return False
        try:
            row = self._conn.execute(HELD_HERE, self._parts()).fetchone()
        except psycopg.Error:
            self.held = False
            return False
        self.held = bool(row and row[0])
        return self.held

    def holder(self) -> str:
        """Who holds the lock, for a log line: the holder's client address and backend pid."""
        if self._conn is None or self._conn.closed:
            return "unknown"
        row = self._conn.execute(HOLDER, self._parts()).fetchone()
        if row is None:
            return "nobody (free at the next try)"
        return f"the session of backend pid {row[1]} from {row[0] or 'a local socket'}"

    def _parts(self) -> tuple[int, int]:
        """The key's high and low 32 bits, as pg_locks shows them."""
        unsigned = self._key & 0xFFFFFFFFFFFFFFFF
        return unsigned >> 32, unsigned & 0xFFFFFFFF

    def close(self) -> None:
        """Ends the session, and with it the lock."""
        self.held = False
        if self._conn is not None:
            self._conn.close()
            self._conn = None
