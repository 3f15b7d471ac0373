"""Where the purchase index lives: the tables of migration 0007 on PostgreSQL, the same tables
in the customer ledger's file on the embedded SQLite store (beside the access log, so catching
up never holds the inventory file's write lock the command writer needs).

Every write is idempotent (a row already there is kept, the position only moves forward), so
two processes catching up at once do the same work twice but never record anything wrong."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from contextlib import closing
from typing import Protocol

from psycopg_pool import ConnectionPool

INDEX_NAME = "purchases"
Reservations = Iterable[tuple[str, str]]  # (reservation id, customer id)
Lines = Iterable[tuple[str, int]]  # (customer id, log position)


class PurchaseIndexStore(Protocol):
    def position(self) -> int: ...

    def record(self, position: int, reservations: Reservations, lines: Lines) -> None: ...

    def customers_of(self, reservation_ids: list[str]) -> dict[str, str]: ...

    def positions_of(self, customer_ids: list[str]) -> list[int]: ...


class PostgresPurchaseIndex:
    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    def position(self) -> int:
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT position FROM glow_purchase_index WHERE name = %s", (INDEX_NAME,)
            ).fetchone()
        return int(row[0]) if row else 0

    def record(self, position: int, reservations: Reservations, lines: Lines) -> None:
        with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO glow_customer_reservations VALUES (%s, %s) ON CONFLICT DO NOTHING",
                list(reservations),
            )
            cursor.executemany(
                "INSERT INTO glow_customer_purchases VALUES (%s, %s) ON CONFLICT DO NOTHING",
                list(lines),
            )
            cursor.execute(
                "INSERT INTO glow_purchase_index VALUES (%s, %s) ON CONFLICT (name) DO "
                "UPDATE SET position = greatest(glow_purchase_index.position, "
                "excluded.position)",
                (INDEX_NAME, position),
            )

    def customers_of(self, reservation_ids: list[str]) -> dict[str, str]:
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT reservation_id, customer_id FROM glow_customer_reservations "
                "WHERE reservation_id = ANY(%s)",
                (reservation_ids,),
            ).fetchall()
        return dict(rows)

    def positions_of(self, customer_ids: list[str]) -> list[int]:
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT position FROM glow_customer_purchases WHERE customer_id = ANY(%s) "
                "ORDER BY position",
                (customer_ids,),
            ).fetchall()
        return [int(row[0]) for row in rows]


SQLITE_TABLES = (
    "CREATE TABLE IF NOT EXISTS glow_customer_purchases (customer_id TEXT NOT NULL, "
    "position INTEGER NOT NULL, PRIMARY KEY (customer_id, position))",
    "CREATE TABLE IF NOT EXISTS glow_customer_reservations (reservation_id TEXT PRIMARY KEY, "
    "customer_id TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS glow_purchase_index (name TEXT PRIMARY KEY, "
    "position INTEGER NOT NULL)",
)


class SqlitePurchaseIndex:
    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        with self._connection() as conn, conn:
            for statement in SQLITE_TABLES:
                conn.execute(statement)

    def _connection(self) -> closing[sqlite3.Connection]:
        return closing(sqlite3.connect(self.path, timeout=10))

    def position(self) -> int:
        with self._connection() as conn:
            row = conn.execute(
                "SELECT position FROM glow_purchase_index WHERE name = ?", (INDEX_NAME,)
            ).fetchone()
        return int(row[0]) if row else 0

    def record(self, position: int, reservations: Reservations, lines: Lines) -> None:
        with self._lock, self._connection() as conn, conn:
            conn.executemany(
                "INSERT OR IGNORE INTO glow_customer_reservations VALUES (?, ?)", reservations
            )
            conn.executemany("INSERT OR IGNORE INTO glow_customer_purchases VALUES (?, ?)", lines)
            conn.execute(
                "INSERT INTO glow_purchase_index VALUES (?, ?) ON CONFLICT (name) DO "
                "UPDATE SET position = max(position, excluded.position)",
                (INDEX_NAME, position),
            )

    def customers_of(self, reservation_ids: list[str]) -> dict[str, str]:
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT reservation_id, customer_id FROM glow_customer_reservations "
                "WHERE reservation_id IN (SELECT value FROM json_each(?))",
                (json.dumps(reservation_ids),),
            ).fetchall()
        return dict(rows)

    def positions_of(self, customer_ids: list[str]) -> list[int]:
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT position FROM glow_customer_purchases "
                "WHERE customer_id IN (SELECT value FROM json_each(?)) ORDER BY position",
                (json.dumps(customer_ids),),
            ).fetchall()
        return [int(row[0]) for row in rows]
