"""Audiences in PostgreSQL (`segment_audiences`, `segment_audience_computations`, migration
0015): versioned definitions and the record of each computation."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb


@dataclass(frozen=True)
class Audience:
    name: str
    version: int
    purpose: str
    conditions: list[dict[str, Any]]
    created_by: str
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "purpose": self.purpose,
            "conditions": self.conditions,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class Computation:
    name: str
    version: int
    as_of: datetime
    computed_at: datetime
    members: int
    members_digest: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "as_of": self.as_of.isoformat(),
            "computed_at": self.computed_at.isoformat(),
            "members": self.members,
            "members_digest": self.members_digest,
        }


_AUDIENCE = (
    "SELECT name, version, purpose, conditions, created_by, created_at FROM segment_audiences"
)


class AudienceBook:
    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self._conn: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.conninfo, autocommit=True)
        return self._conn

    def define(
        self, name: str, purpose: str, conditions: list[dict[str, Any]], created_by: str
    ) -> Audience:
        """The next version of `name` (1 for a new name). Definitions of one name are made
        one at a time (a transaction lock on the name), so two never get the same version."""
        with self._lock, self._connection().transaction():
            conn = self._connection()
            conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext('segment_audiences:' || %s))", (name,)
            )
            row = conn.execute(
                "INSERT INTO segment_audiences (name, version, purpose, conditions, created_by)"
                " SELECT %s, coalesce(max(version), 0) + 1, %s, %s, %s FROM segment_audiences"
                " WHERE name = %s RETURNING name, version, purpose, conditions, created_by,"
                " created_at",
                (name, purpose, Jsonb(conditions), created_by, name),
            ).fetchone()
        assert row is not None
        return Audience(*row)

    def latest(self, name: str) -> Audience | None:
        with self._lock:
            row = (
                self._connection()
                .execute(f"{_AUDIENCE} WHERE name = %s ORDER BY version DESC LIMIT 1", (name,))
                .fetchone()
            )
        return None if row is None else Audience(*row)

    def version(self, name: str, version: int) -> Audience | None:
        with self._lock:
            row = (
                self._connection()
                .execute(f"{_AUDIENCE} WHERE name = %s AND version = %s", (name, version))
                .fetchone()
            )
        return None if row is None else Audience(*row)

    def listed(self) -> list[Audience]:
        """The latest version of every audience, by name."""
        with self._lock:
            rows = self._connection().execute(
                f"SELECT DISTINCT ON (name) {_AUDIENCE[7:]} ORDER BY name, version DESC"
            )
            return [Audience(*row) for row in rows]

    def record(
        self, audience: Audience, as_of: datetime, computed_by: str, members: int, digest: str
    ) -> Computation:
        with self._lock:
            row = (
                self._connection()
                .execute(
                    "INSERT INTO segment_audience_computations"
                    " (name, version, as_of, computed_by, members, members_digest)"
                    " VALUES (%s, %s, %s, %s, %s, %s)"
                    " RETURNING name, version, as_of, computed_at, members, members_digest",
                    (audience.name, audience.version, as_of, computed_by, members, digest),
                )
                .fetchone()
            )
        assert row is not None
        return Computation(*row)

    def computations(self, name: str, limit: int = 20) -> list[Computation]:
        with self._lock:
            rows = self._connection().execute(
                "SELECT name, version, as_of, computed_at, members, members_digest"
                " FROM segment_audience_computations WHERE name = %s ORDER BY id DESC LIMIT %s",
                (name, limit),
            )
            return [Computation(*row) for row in rows]

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
