"""Webhook subscriptions in PostgreSQL (`webhook_subscriptions`, migration 0011): who wants
which event types, optionally only those of some channels, at which URL, and the signing
secret as sealed by the service layer (never stored in plaintext)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg


@dataclass(frozen=True)
class Subscription:
    id: UUID
    url: str
    event_types: tuple[str, ...]
    channels: tuple[str, ...] | None  # None: every channel
    from_position: int  # the log's head when it was made: it hears of what came after
    created_at: datetime | None = None

    def wants(self, event_type: str, channel: str | None, position: int) -> bool:
        if event_type not in self.event_types or position <= self.from_position:
            return False
        return self.channels is None or channel is None or channel in self.channels

    def as_dict(self) -> dict[str, Any]:
        return {
            "subscription_id": str(self.id),
            "url": self.url,
            "event_types": list(self.event_types),
            "channels": None if self.channels is None else list(self.channels),
            "from_position": self.from_position,
            "created_at": None if self.created_at is None else self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class SealedSecret:
    key_id: str  # the master key that sealed it
    sealed: bytes


_SELECT = (
    "SELECT id, url, event_types, channels, from_position, created_at FROM webhook_subscriptions "
)


class SubscriptionBook:
    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self._conn: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()

    def _execute(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            if self._conn is None or self._conn.closed:
                self._conn = psycopg.connect(self.conninfo, autocommit=True)
            cursor = self._conn.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    def add(self, subscription: Subscription, secret: SealedSecret) -> None:
        self._execute(
            "INSERT INTO webhook_subscriptions (id, url, event_types, channels, from_position,"
            " secret_key_id, secret_sealed) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (
                subscription.id,
                subscription.url,
                list(subscription.event_types),
                None if subscription.channels is None else list(subscription.channels),
                subscription.from_position,
                secret.key_id,
                secret.sealed,
            ),
        )

    def active(self) -> list[Subscription]:
        rows = self._execute(_SELECT + "WHERE removed_at IS NULL ORDER BY created_at, id")
        return [_subscription(row) for row in rows]

    def find(self, subscription_id: UUID) -> Subscription | None:
        rows = self._execute(
            _SELECT + "WHERE id = %s AND removed_at IS NULL",
            (subscription_id,),
        )
        return _subscription(rows[0]) if rows else None

    def remove(self, subscription_id: UUID) -> bool:
        """Stop the subscription: nothing more is derived for it, and its pending deliveries
        are not sent (they stay, for the record)."""
        rows = self._execute(
            "UPDATE webhook_subscriptions SET removed_at = now() "
            "WHERE id = %s AND removed_at IS NULL RETURNING id",
            (subscription_id,),
        )
        return bool(rows)

    def secrets(self) -> dict[UUID, SealedSecret]:
        rows = self._execute(
            "SELECT id, secret_key_id, secret_sealed FROM webhook_subscriptions "
            "WHERE removed_at IS NULL"
        )
        return {row[0]: SealedSecret(row[1], bytes(row[2])) for row in rows}

    def urls(self) -> dict[UUID, str]:
        rows = self._execute("SELECT id, url FROM webhook_subscriptions WHERE removed_at IS NULL")
        return {row[0]: row[1] for row in rows}

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _subscription(row: tuple[Any, ...]) -> Subscription:
    subscription_id, url, types, channels, from_position, created_at = row
    return Subscription(
        subscription_id,
        url,
        tuple(types),
        None if channels is None else tuple(channels),
        int(from_position),
        created_at,
    )
