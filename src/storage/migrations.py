"""Versioned SQL for PostgreSQL, applied in name order, each file once, recorded with its checksum.

Every file runs in its own transaction together with the row that records it, under a
transaction-level advisory lock, so concurrent migrators apply each file exactly once.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg


def migrations_folder(kind: str) -> Path:
    """`migrations/<kind>` (postgres, clickhouse): in a checkout (an editable install) the
    repository's folder; in an installed wheel (the container image) the copy the wheel
    carries under <prefix>/share/glowledger (pyproject.toml's data-files)."""
    checkout = Path(__file__).resolve().parents[2] / "migrations" / kind
    if checkout.is_dir():
        return checkout
    return Path(sys.prefix) / "share" / "glowledger" / "migrations" / kind


MIGRATIONS_DIRECTORY = migrations_folder("postgres")

# "glow" in ASCII: the key of the advisory lock every migrator takes.
MIGRATION_LOCK_KEY = 0x676C6F77

CREATE_RECORD_TABLE = """
CREATE TABLE IF NOT EXISTS glow_schema_migrations (
    name text PRIMARY KEY,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


class MigrationError(Exception):
    """A migration cannot be applied."""


class ChangedMigrationError(MigrationError):
    """A file already applied to the database has been edited since."""

    def __init__(self, name: str, recorded: str, current: str) -> None:
        super().__init__(
            f"migration {name} was applied with sha256 {recorded} but the file now has "
            f"sha256 {current}; applied migrations must not change, add a new file instead"
        )
        self.name = name


@dataclass(frozen=True)
class Migration:
    name: str
    sql: bytes

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql).hexdigest()


def read_migrations(directory: Path) -> list[Migration]:
    paths = sorted(directory.glob("*.sql"), key=lambda path: path.name)
    return [Migration(path.name, path.read_bytes()) for path in paths]


def apply_migrations(conninfo: str, directory: Path = MIGRATIONS_DIRECTORY) -> list[str]:
    """Apply the files not yet recorded and return their names, in the order applied."""
    migrations = read_migrations(directory)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        with conn.transaction():
            _lock(conn)
            conn.execute(CREATE_RECORD_TABLE)
        return [migration.name for migration in migrations if _apply(conn, migration)]


def pending_migrations(conninfo: str, directory: Path = MIGRATIONS_DIRECTORY) -> list[str]:
    """Names of the files not yet recorded as applied."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        recorded = _recorded_names(conn)
    return [
        migration.name for migration in read_migrations(directory) if migration.name not in recorded
    ]


def _apply(conn: psycopg.Connection[Any], migration: Migration) -> bool:
    with conn.transaction():
        _lock(conn)
        row = conn.execute(
            "SELECT checksum FROM glow_schema_migrations WHERE name = %s", (migration.name,)
        ).fetchone()
        if row is not None:
            if row[0] != migration.checksum:
                raise ChangedMigrationError(migration.name, row[0], migration.checksum)
            return False
        conn.execute(migration.sql)
        conn.execute(
            "INSERT INTO glow_schema_migrations (name, checksum) VALUES (%s, %s)",
            (migration.name, migration.checksum),
        )
    return True


def _lock(conn: psycopg.Connection[Any]) -> None:
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))


def _recorded_names(conn: psycopg.Connection[Any]) -> set[str]:
    exists = conn.execute("SELECT to_regclass('glow_schema_migrations')").fetchone()
    if exists is None or exists[0] is None:
        return set()
    return {row[0] for row in conn.execute("SELECT name FROM glow_schema_migrations")}
