"""Positions of the relay and the stream workers in the notification log, kept in PostgreSQL
(`stream_positions`, migration 0004): the event store is the source of truth, so a broker that
loses its topics loses nothing these positions cannot bring back."""

from __future__ import annotations

from typing import Any

import psycopg

RELAY = "relay"
# The customer ledger's log has its own notification ids: positions in it are named with this
# suffix (`relay:customer`, `worker:customer`), never compared with the inventory log's.
CUSTOMER_SUFFIX = ":customer"
RELAY_CUSTOMERS = RELAY + CUSTOMER_SUFFIX


def in_customer_log(name: str) -> bool:
    return name.endswith(CUSTOMER_SUFFIX)


_UPSERT = """
INSERT INTO stream_positions (name, position, updated_at) VALUES (%s, %s, now())
ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, updated_at = now()
"""


class PositionBook:
    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self._conn: psycopg.Connection[Any] | None = None

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.conninfo, autocommit=True)
        return self._conn

    def get(self, name: str) -> int:
        row = (
            self._connection()
            .execute("SELECT position FROM stream_positions WHERE name = %s", (name,))
            .fetchone()
        )
        return int(row[0]) if row else 0

    def set(self, name: str, position: int) -> None:
        """Record `position` as it is, also lower than before (a deliberate rewind)."""
        self._connection().execute(_UPSERT, (name, position))

    def advance(self, name: str, position: int) -> None:
        """Record `position` unless a higher one is recorded (a worker's watermark)."""
        self._connection().execute(
            _UPSERT.replace(
                "EXCLUDED.position", "GREATEST(EXCLUDED.position, stream_positions.position)"
            ),
            (name, position),
        )

    def all(self) -> dict[str, int]:
        rows = self._connection().execute("SELECT name, position FROM stream_positions")
        return {str(name): int(position) for name, position in rows}

    def consumers(self, relay: str = RELAY) -> dict[str, int]:
        """The workers' positions in the log `relay` follows: everything but the relays',
        in the same log."""
        customers = in_customer_log(relay)
        return {
            name: p
            for name, p in self.all().items()
            if name not in (RELAY, RELAY_CUSTOMERS) and in_customer_log(name) == customers
        }

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
