"""Migration 0008 moves the answers stored under bare idempotency keys into the scope of the
caller whose command recorded events under the key, so that caller's retry still replays."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from configuration.settings import eventsourcing_env
from domain.catalog import Product
from domain.ledger import InventoryLedger
from domain.trace import Trace
from storage.command_answers import scoped_key
from storage.migrations import MIGRATIONS_DIRECTORY, apply_migrations

SCOPING = "0008_scoped_idempotency_keys.sql"


def _migrations_before_scoping(directory: Path) -> Path:
    for path in sorted(MIGRATIONS_DIRECTORY.glob("*.sql")):
        if path.name < SCOPING:
            shutil.copy(path, directory / path.name)
    return directory


def _answer(conn: psycopg.Connection[tuple[object, ...]], key: str) -> None:
    conn.execute(
        "INSERT INTO glow_command_answers (idempotency_key, fingerprint, status, response)"
        " VALUES (%s, 'print', 201, '{}'::bytea)",
        (key,),
    )


def _keys(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {row[0] for row in conn.execute("SELECT idempotency_key FROM glow_command_answers")}


def test_bare_keys_move_into_the_scope_of_the_caller_that_recorded_them(
    scratch_database_url: str, tmp_path: Path
) -> None:
    apply_migrations(scratch_database_url, _migrations_before_scoping(tmp_path))
    ledger = InventoryLedger(env=eventsourcing_env(scratch_database_url))
    try:
        trace = Trace("web", "web-shop", datetime.now(tz=UTC), idempotency_key="k-1")
        ledger.save(Product.define("P-1", {"name": "Balm"}, trace))
    finally:
        ledger.close()
    with psycopg.connect(scratch_database_url) as conn:
        _answer(conn, "k-1")  # its command recorded an event: web-shop on web sent it
        _answer(conn, "k-2")  # its command changed nothing: nobody's scope can claim it
        _answer(conn, scoped_key("till-7", "pos", "k-3"))  # already scoped: left alone

    applied = apply_migrations(scratch_database_url)

    assert SCOPING in applied
    assert _keys(scratch_database_url) == {
        scoped_key("web-shop", "web", "k-1"),
        "k-2",
        scoped_key("till-7", "pos", "k-3"),
    }
