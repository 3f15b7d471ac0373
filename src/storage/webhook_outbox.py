"""The webhook outbox in PostgreSQL (`webhook_deliveries`, `webhook_positions`, migration
0011): deliveries derived from the log, claimed by the dispatcher one head per (subscription,
ordering key) at a time, retried, dead-lettered, replayed.

A page of the log is recorded in one transaction: its deliveries, the marketplace feed's marks
(`storage/marketplace_feed_rows.py`) and the follower's position, which must still be the one
the page was read after (a second follower loses, and adds nothing)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg

from storage import marketplace_feed_rows as feed

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"


@dataclass(frozen=True)
class Delivery:
    """A message for one subscriber; `message_id` is its stable idempotency id."""

    message_id: str
    subscription_id: UUID
    event_type: str
    ordering_key: str
    body: bytes
    recorded_at: datetime


@dataclass(frozen=True)
class Claimed:
    id: int
    message_id: str
    subscription_id: UUID
    event_type: str
    body: bytes
    attempts: int  # this one included
    recorded_at: datetime


@dataclass(frozen=True)
class FeedMarks:
    """What a page changed for the marketplace feed: (channel, SKU) pairs, and channels whose
    every SKU may have moved (a rule of the whole channel changed)."""

    pairs: Sequence[tuple[str, str]] = ()
    whole_channels: Sequence[str] = ()


_INSERT = (
    "INSERT INTO webhook_deliveries (message_id, subscription_id, event_type, ordering_key, "
    "body, recorded_at) VALUES (%s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (subscription_id, message_id) DO NOTHING"
)

# The oldest pending delivery of each (subscription, ordering key), if it is due: a later
# delivery of the same key waits, also while the head is in flight (its lease pushed
# next_attempt_at ahead). The UPDATE checks again under the row lock, so two dispatchers
# never claim the same delivery.
_CLAIM = """
WITH heads AS (
    SELECT h.id FROM (
        SELECT DISTINCT ON (d.subscription_id, d.ordering_key) d.id, d.next_attempt_at
        FROM webhook_deliveries d
        JOIN webhook_subscriptions s ON s.id = d.subscription_id AND s.removed_at IS NULL
        WHERE d.status = 'pending'
        ORDER BY d.subscription_id, d.ordering_key, d.id
    ) h
    WHERE h.next_attempt_at <= now()
    ORDER BY h.id
    LIMIT %s
)
UPDATE webhook_deliveries d
SET attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => %s)
FROM heads
WHERE d.id = heads.id AND d.status = 'pending' AND d.next_attempt_at <= now()
RETURNING d.id, d.message_id, d.subscription_id, d.event_type, d.body, d.attempts,
    d.recorded_at
"""


class WebhookOutbox:
    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self._conn: psycopg.Connection[Any] | None = None
        self.lock = threading.Lock()

    def connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.conninfo, autocommit=True)
        return self._conn

    def _rows(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.lock:
            cursor = self.connection().execute(query, params)
            return cursor.fetchall() if cursor.description else []

    # --- the follower -------------------------------------------------------------------

    def position(self, name: str) -> int:
        rows = self._rows("SELECT position FROM webhook_positions WHERE name = %s", (name,))
        return int(rows[0][0]) if rows else 0

    def record_page(
        self,
        name: str,
        after: int,
        position: int,
        deliveries: Sequence[Delivery],
        marks: FeedMarks = FeedMarks(),
    ) -> bool:
        """Record a page read after `after` up to `position`; False (nothing recorded) if the
        follower's position is no longer `after`."""
        with self.lock, self.connection().transaction():
            conn = self.connection()
            conn.execute(
                "INSERT INTO webhook_positions (name, position) VALUES (%s, 0) "
                "ON CONFLICT (name) DO NOTHING",
                (name,),
            )
            row = conn.execute(
                "SELECT position FROM webhook_positions WHERE name = %s FOR UPDATE", (name,)
            ).fetchone()
            if row is None or int(row[0]) != after:
                return False
            insert_deliveries(conn, deliveries)
            feed.mark(conn, marks.pairs, marks.whole_channels, position)
            conn.execute(
                "UPDATE webhook_positions SET position = %s WHERE name = %s", (position, name)
            )
        return True

    def add(self, deliveries: Sequence[Delivery]) -> None:
        with self.lock, self.connection().transaction():
            insert_deliveries(self.connection(), deliveries)

    # --- the dispatcher -----------------------------------------------------------------

    def claim(self, limit: int, lease_seconds: float) -> list[Claimed]:
        rows = self._rows(_CLAIM, (limit, lease_seconds))
        found = [Claimed(r[0], r[1], r[2], r[3], bytes(r[4]), r[5], r[6]) for r in rows]
        return sorted(found, key=lambda claimed: claimed.id)

    def delivered(self, ids: Sequence[int]) -> None:
        if ids:
            self._rows(
                "UPDATE webhook_deliveries SET status = 'delivered', delivered_at = now(), "
                "last_error = NULL WHERE id = ANY(%s)",
                (list(ids),),
            )

    def failed(self, delivery_id: int, error: str, retry_in: float | None) -> None:
        """Retry after `retry_in` seconds, or (None) set it aside as a dead letter."""
        if retry_in is None:
            self._rows(
                "UPDATE webhook_deliveries SET status = 'dead', last_error = %s WHERE id = %s",
                (error[:500], delivery_id),
            )
            return
        self._rows(
            "UPDATE webhook_deliveries SET last_error = %s, "
            "next_attempt_at = now() + make_interval(secs => %s) WHERE id = %s",
            (error[:500], retry_in, delivery_id),
        )

    # --- operators ----------------------------------------------------------------------

    def dead_letters(self, subscription_id: UUID | None, limit: int) -> list[dict[str, Any]]:
        rows = self._rows(
            "SELECT message_id, subscription_id, event_type, ordering_key, attempts, "
            "last_error, recorded_at FROM webhook_deliveries WHERE status = 'dead' "
            "AND (%s::uuid IS NULL OR subscription_id = %s::uuid) ORDER BY id LIMIT %s",
            (subscription_id, subscription_id, limit),
        )
        return [
            {
                "message_id": r[0],
                "subscription_id": str(r[1]),
                "event_type": r[2],
                "ordering_key": r[3],
                "attempts": r[4],
                "last_error": r[5],
                "recorded_at": r[6].isoformat(),
            }
            for r in rows
        ]

    def replay(self, subscription_id: UUID | None, message_ids: Sequence[str] | None) -> int:
        """Dead letters back to pending, attempts from zero, due now; returns how many."""
        rows = self._rows(
            "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, "
            "next_attempt_at = now() WHERE status = 'dead' "
            "AND (%s::uuid IS NULL OR subscription_id = %s::uuid) "
            "AND (%s::text[] IS NULL OR message_id = ANY(%s::text[])) RETURNING id",
            (
                subscription_id,
                subscription_id,
                None if message_ids is None else list(message_ids),
                None if message_ids is None else list(message_ids),
            ),
        )
        return len(rows)

    def counts(self) -> dict[str, int]:
        rows = self._rows("SELECT status, count(*) FROM webhook_deliveries GROUP BY status")
        found = dict.fromkeys((PENDING, DELIVERED, DEAD), 0)
        found.update({str(status): int(n) for status, n in rows})
        return found

    def close(self) -> None:
        with self.lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def insert_deliveries(conn: psycopg.Connection[Any], deliveries: Sequence[Delivery]) -> None:
    if deliveries:
        with conn.cursor() as cursor:
            cursor.executemany(
                _INSERT,
                [
                    (
                        d.message_id,
                        d.subscription_id,
                        d.event_type,
                        d.ordering_key,
                        d.body,
                        d.recorded_at,
                    )
                    for d in deliveries
                ],
            )
