"""Where wrapped data keys live: a PostgreSQL table, a SQLite table, or memory (tests).

Deleting a row is the crypto-shredding: without it, the sealed personal data is noise. A
deleted row must leave no readable copy behind: SQLite overwrites it (`secure_delete`) and
the delete is followed by a checkpoint that truncates the write-ahead log, whose old frames
would otherwise still hold the key; PostgreSQL keeps dead tuples until `purge` rewrites the
table (its WAL and backups are covered by rotating the master key, see README).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from contextlib import closing
from typing import Protocol
from uuid import UUID

import psycopg
from psycopg_pool import ConnectionPool

Wrapped = tuple[str, bytes]  # (id of the master key that wrapped it, the wrapped key)

log = logging.getLogger(__name__)
CHECKPOINT_ATTEMPTS = 3


class KeyStore(Protocol):
    def get(self, customer_id: UUID) -> Wrapped | None: ...

    def put_if_absent(self, customer_id: UUID, wrapped: Wrapped) -> Wrapped:
        """Store the key unless one exists; return the one that is stored (race-safe)."""

    def delete(self, customer_id: UUID) -> None: ...

    def wrapped_by_others(self, master_id: str) -> list[tuple[UUID, Wrapped]]: ...

    def replace(self, customer_id: UUID, old: Wrapped, new: Wrapped) -> bool:
        """Swap a wrapping if the row still holds `old`; False if it changed (or was deleted)."""

    def purge(self) -> bool:
        """Leave no copy of a deleted key in the store's files; False if it could not yet."""


class MemoryKeyStore:
    def __init__(self) -> None:
        self.rows: dict[UUID, Wrapped] = {}
        self._lock = threading.Lock()

    def get(self, customer_id: UUID) -> Wrapped | None:
        return self.rows.get(customer_id)

    def put_if_absent(self, customer_id: UUID, wrapped: Wrapped) -> Wrapped:
        with self._lock:
            return self.rows.setdefault(customer_id, wrapped)

    def delete(self, customer_id: UUID) -> None:
        self.rows.pop(customer_id, None)

    def wrapped_by_others(self, master_id: str) -> list[tuple[UUID, Wrapped]]:
        return [(cid, w) for cid, w in self.rows.items() if w[0] != master_id]

    def replace(self, customer_id: UUID, old: Wrapped, new: Wrapped) -> bool:
        with self._lock:
            if self.rows.get(customer_id) != old:
                return False
            self.rows[customer_id] = new
            return True

    def purge(self) -> bool:
        return True


class PostgresKeyStore:
    """The `customer_keys` table of migration 0004."""

    def __init__(self, conninfo: str, max_size: int = 4) -> None:
        self.conninfo = conninfo
        self.pool = ConnectionPool(conninfo, min_size=1, max_size=max_size, open=True)

    def close(self) -> None:
        self.pool.close()

    def get(self, customer_id: UUID) -> Wrapped | None:
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT master_key_id, wrapped_key FROM customer_keys WHERE customer_id = %s",
                (customer_id,),
            ).fetchone()
        return None if row is None else (row[0], bytes(row[1]))

    def put_if_absent(self, customer_id: UUID, wrapped: Wrapped) -> Wrapped:
        with self.pool.connection() as conn:
            conn.execute(
                "INSERT INTO customer_keys (customer_id, master_key_id, wrapped_key) "
                "VALUES (%s, %s, %s) ON CONFLICT (customer_id) DO NOTHING",
                (customer_id, *wrapped),
            )
        stored = self.get(customer_id)
        assert stored is not None
        return stored

    def delete(self, customer_id: UUID) -> None:
        with self.pool.connection() as conn:
            conn.execute("DELETE FROM customer_keys WHERE customer_id = %s", (customer_id,))

    def wrapped_by_others(self, master_id: str) -> list[tuple[UUID, Wrapped]]:
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT customer_id, master_key_id, wrapped_key FROM customer_keys "
                "WHERE master_key_id <> %s",
                (master_id,),
            ).fetchall()
        return [(row[0], (row[1], bytes(row[2]))) for row in rows]

    def replace(self, customer_id: UUID, old: Wrapped, new: Wrapped) -> bool:
        with self.pool.connection() as conn:
            cursor = conn.execute(
                "UPDATE customer_keys SET master_key_id = %s, wrapped_key = %s, "
                "rewrapped_at = now() WHERE customer_id = %s AND master_key_id = %s "
                "AND wrapped_key = %s",
                (*new, customer_id, *old),
            )
            return cursor.rowcount == 1

    def purge(self) -> bool:
        """Rewrite the table so no dead tuple (a deleted or re-wrapped key) stays in its pages.

        VACUUM FULL copies the live rows into a new file and truncates the old one; a plain
        VACUUM would only mark the space free, leaving the bytes in place."""
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            conn.execute("VACUUM FULL customer_keys")
        return True


SQLITE_TABLE = """
CREATE TABLE IF NOT EXISTS customer_keys (
    customer_id TEXT PRIMARY KEY,
    master_key_id TEXT NOT NULL,
    wrapped_key BLOB NOT NULL
)
"""


class SqliteKeyStore:
    """The same table in the embedded customer store's SQLite file."""

    def __init__(self, path: str) -> None:
        self.path = path
        with closing(self._connect()) as conn, conn:
            conn.execute(SQLITE_TABLE)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=10)
        conn.execute("PRAGMA secure_delete = ON")  # a deleted key's bytes are overwritten
        return conn

    def get(self, customer_id: UUID) -> Wrapped | None:
        with closing(self._connect()) as conn:
            row = conn.execute(
                "SELECT master_key_id, wrapped_key FROM customer_keys WHERE customer_id = ?",
                (str(customer_id),),
            ).fetchone()
        return None if row is None else (row[0], bytes(row[1]))

    def put_if_absent(self, customer_id: UUID, wrapped: Wrapped) -> Wrapped:
        with closing(self._connect()) as conn, conn:
            conn.execute(
                "INSERT OR IGNORE INTO customer_keys VALUES (?, ?, ?)", (str(customer_id), *wrapped)
            )
        stored = self.get(customer_id)
        assert stored is not None
        return stored

    def delete(self, customer_id: UUID) -> None:
        with closing(self._connect()) as conn:
            with conn:
                conn.execute("DELETE FROM customer_keys WHERE customer_id = ?", (str(customer_id),))
            if not _truncate_wal(conn):
                log.warning(
                    "a deleted customer key may still be in %s-wal: other connections kept it "
                    "busy; run `glow keys purge`",
                    self.path,
                )

    def purge(self) -> bool:
        with closing(self._connect()) as conn:
            return _truncate_wal(conn)

    def wrapped_by_others(self, master_id: str) -> list[tuple[UUID, Wrapped]]:
        with closing(self._connect()) as conn:
            rows = conn.execute(
                "SELECT customer_id, master_key_id, wrapped_key FROM customer_keys "
                "WHERE master_key_id <> ?",
                (master_id,),
            ).fetchall()
        return [(UUID(row[0]), (row[1], bytes(row[2]))) for row in rows]

    def replace(self, customer_id: UUID, old: Wrapped, new: Wrapped) -> bool:
        with closing(self._connect()) as conn, conn:
            cursor = conn.execute(
                "UPDATE customer_keys SET master_key_id = ?, wrapped_key = ? "
                "WHERE customer_id = ? AND master_key_id = ? AND wrapped_key = ?",
                (*new, str(customer_id), *old),
            )
            return cursor.rowcount == 1


def _truncate_wal(conn: sqlite3.Connection) -> bool:
    """Copy the write-ahead log into the database and truncate it to nothing, so no old frame
    keeps a deleted row. A reader in the middle of a transaction keeps the log busy: retried
    (each attempt also waits the connection's busy timeout), False if it never got through."""
    for attempt in range(CHECKPOINT_ATTEMPTS):
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy == 0:
            return True
        time.sleep(0.01 * (attempt + 1))
    return False
