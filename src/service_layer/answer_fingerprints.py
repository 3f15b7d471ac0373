"""Stores made before keyed fingerprints hold a plain SHA-256 of each command's body in
`glow_command_answers`: anyone can check a guessed body (a customer's email) against it. This
erases them; the answers stay (a retry with such a key is answered 409, as it would be anyway:
its fingerprint can no longer be recomputed the old way)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import psycopg

from configuration.settings import Settings, eventsourcing_env, postgres_conninfo
from privacy.pseudonyms import KEYED_FINGERPRINT
from service_layer.customer_store import customer_store_env
from storage.recorders import ANSWERS_TABLE

ERASED = "erased:unkeyed"
ERASE = (
    f"UPDATE {ANSWERS_TABLE} SET fingerprint = '{ERASED}' "  # noqa: S608 (constants only)
    f"WHERE fingerprint NOT LIKE '{KEYED_FINGERPRINT}%' AND fingerprint <> '{ERASED}'"
)


def erase_unkeyed_fingerprints(settings: Settings) -> int:
    """How many plain fingerprints were erased, in every answers table of the ledger."""
    if settings.is_postgres():
        with psycopg.connect(postgres_conninfo(settings.event_store_url), autocommit=True) as pg:
            erased = pg.execute(ERASE).rowcount
            pg.execute(f"VACUUM {ANSWERS_TABLE}")
        return erased
    files = (
        eventsourcing_env(settings.event_store_url)["SQLITE_DBNAME"],
        customer_store_env(settings)["SQLITE_DBNAME"],
    )
    return sum(_erase_in(Path(name)) for name in files if Path(name).exists())


def _erase_in(path: Path) -> int:
    with closing(sqlite3.connect(path, timeout=10)) as conn:
        conn.execute("PRAGMA secure_delete = ON")  # the old values are overwritten
        if not conn.execute(
            "SELECT 1 FROM sqlite_master WHERE name = ?", (ANSWERS_TABLE,)
        ).fetchone():
            return 0
        with conn:
            erased = conn.execute(ERASE).rowcount
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return erased
