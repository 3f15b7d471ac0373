"""The log of every access to personal data: who, in which role and channel, what, when, why.

It names the customer by id and the action by name; it never holds the personal data itself,
so it survives the customer being forgotten without keeping anything of them but their id.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from uuid import UUID

from psycopg_pool import ConnectionPool


@dataclass(frozen=True)
class AccessEntry:
    principal: str
    role: str
    channel: str | None
    customer_id: UUID | None
    action: str
    reason: str | None
    at: datetime | None = None


class AccessLog(Protocol):
    def record(self, entry: AccessEntry) -> None: ...

    def entries_for(self, customer_id: UUID) -> list[AccessEntry]: ...


COLUMNS = "principal, role, channel, customer_id, action, reason"


class PostgresAccessLog:
    """The `pii_access_log` table of migration 0004."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    def record(self, entry: AccessEntry) -> None:
        with self.pool.connection() as conn:
            conn.execute(
                f"INSERT INTO pii_access_log ({COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s)",  # noqa: S608
                _values(entry),
            )

    def entries_for(self, customer_id: UUID) -> list[AccessEntry]:
        with self.pool.connection() as conn:
            rows = conn.execute(
                f"SELECT {COLUMNS}, at FROM pii_access_log WHERE customer_id = %s ORDER BY id",  # noqa: S608
                (customer_id,),
            ).fetchall()
        return [AccessEntry(*row) for row in rows]


SQLITE_TABLE = """
CREATE TABLE IF NOT EXISTS pii_access_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    principal TEXT NOT NULL,
    role TEXT NOT NULL,
    channel TEXT,
    customer_id TEXT,
    action TEXT NOT NULL,
    reason TEXT
)
"""


class SqliteAccessLog:
    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        with closing(sqlite3.connect(path, timeout=10)) as conn, conn:
            conn.execute(SQLITE_TABLE)

    def record(self, entry: AccessEntry) -> None:
        customer = str(entry.customer_id) if entry.customer_id else None
        values = (
            datetime.now(tz=UTC).isoformat(),
            *_values(entry)[:3],
            customer,
            *_values(entry)[4:],
        )
        with self._lock, closing(sqlite3.connect(self.path, timeout=10)) as conn, conn:
            conn.execute(
                f"INSERT INTO pii_access_log (at, {COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
                values,
            )

    def entries_for(self, customer_id: UUID) -> list[AccessEntry]:
        with closing(sqlite3.connect(self.path, timeout=10)) as conn:
            rows = conn.execute(
                f"SELECT {COLUMNS}, at FROM pii_access_log WHERE customer_id = ? ORDER BY id",  # noqa: S608
                (str(customer_id),),
            ).fetchall()
        return [
            AccessEntry(p, r, ch, UUID(c), a, why, datetime.fromisoformat(at))
            for p, r, ch, c, a, why, at in rows
        ]


def _values(entry: AccessEntry) -> tuple[object, ...]:
    return (
        entry.principal,
        entry.role,
        entry.channel,
        entry.customer_id,
        entry.action,
        entry.reason,
    )
