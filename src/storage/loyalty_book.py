"""The loyalty follower's rows in PostgreSQL (migration 0016): its position in the inventory
log, the events whose command was refused, and the days on which customers' lots expire."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any
from uuid import UUID

import psycopg


class LoyaltyRows:
    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self._conn: psycopg.Connection[Any] | None = None
        self.lock = threading.Lock()

    def _rows(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.lock:
            if self._conn is None or self._conn.closed:
                self._conn = psycopg.connect(self.conninfo, autocommit=True)
            cursor = self._conn.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    def close(self) -> None:
        with self.lock:
            if self._conn is not None:
                self._conn.close()

    # --- the follower's position ------------------------------------------------------------

    def position(self, name: str) -> int:
        rows = self._rows("SELECT position FROM loyalty_positions WHERE name = %s", (name,))
        return int(rows[0][0]) if rows else 0

    def advance(self, name: str, position: int) -> None:
        self._rows(
            "INSERT INTO loyalty_positions (name, position) VALUES (%s, %s) "
            "ON CONFLICT (name) DO UPDATE SET position = GREATEST("
            "loyalty_positions.position, EXCLUDED.position)",
            (name, position),
        )

    # --- refusals -----------------------------------------------------------------------------

    def refused(
        self, event_id: str, position: int, event_type: str, order_id: str, code: str
    ) -> None:
        self._rows(
            "INSERT INTO loyalty_refusals (event_id, position, event_type, order_id, code) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (event_id) DO NOTHING",
            (event_id, position, event_type, order_id, code),
        )

    def refusals(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = self._rows(
            "SELECT event_id, position, event_type, order_id, code, recorded_at "
            "FROM loyalty_refusals ORDER BY position DESC LIMIT %s",
            (limit,),
        )
        names = ("event_id", "position", "event_type", "order_id", "code", "recorded_at")
        return [dict(zip(names, row, strict=True)) for row in rows]

    # --- expiries -----------------------------------------------------------------------------

    def lot_expires(self, customer_id: UUID, expires_on: date) -> None:
        self._rows(
            "INSERT INTO loyalty_expiries (customer_id, expires_on) VALUES (%s, %s) "
            "ON CONFLICT DO NOTHING",
            (customer_id, expires_on),
        )

    def due(self, today: date, limit: int = 1000) -> list[UUID]:
        """Customers with a lot whose last day is before `today`."""
        rows = self._rows(
            "SELECT DISTINCT customer_id FROM loyalty_expiries WHERE expires_on < %s LIMIT %s",
            (today, limit),
        )
        return [row[0] for row in rows]

    def expired(self, customer_id: UUID, today: date) -> None:
        self._rows(
            "DELETE FROM loyalty_expiries WHERE customer_id = %s AND expires_on < %s",
            (customer_id, today),
        )

    def erase(self, customer_id: UUID) -> None:
        """Forget a customer: their expiry rows go (the eraser of this store)."""
        self._rows("DELETE FROM loyalty_expiries WHERE customer_id = %s", (customer_id,))
