"""`glow keys purge` on PostgreSQL: a forgotten customer's deleted key row stays in the table's
file as a dead tuple until the table is rewritten; after purge not one byte of it is left in
the relation's files, while every other customer's key still opens their data."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest

from cli.main import main
from configuration.settings import Settings
from domain import customer_commands as c
from domain.trace import Trace
from privacy.master_keys import MasterKeys
from privacy.pseudonyms import Pseudonyms
from service_layer.customer_desk import CustomerDesk
from service_layer.customer_store import close_customer_ledger, open_customer_ledger
from storage.migrations import apply_migrations

MASTER = MasterKeys.generate()
TRACE = Trace("web", "tester", datetime(2026, 11, 26, tzinfo=UTC))


@pytest.fixture
def desk(scratch_database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CustomerDesk]:
    apply_migrations(scratch_database_url)
    monkeypatch.setenv("GLOW_MASTER_KEY", MASTER)
    ledger = open_customer_ledger(Settings(event_store_url=scratch_database_url, master_key=MASTER))
    desk = CustomerDesk(ledger)
    try:
        yield desk
    finally:
        desk.close()
        close_customer_ledger(ledger)


def register(desk: CustomerDesk, n: int) -> uuid.UUID:
    pseudonyms = Pseudonyms.from_secret(desk.ledger.vault.ledger_secret())
    claim = c.IdentityClaim("email", pseudonyms.identity_id("email", f"p{n}@example.com"))
    outcome = desk.execute(c.RegisterCustomer(uuid.uuid4(), {"name": f"P{n}"}, (claim,), TRACE))
    return uuid.UUID(outcome.body["customer_id"])


def relation_files(url: str) -> bytes:
    """The bytes of customer_keys' files as the server holds them on disk (superuser only)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")  # dirty pages reach the files
        row = conn.execute(
            "SELECT string_agg(pg_read_binary_file(path || fork, 0, 1 << 24, true), ''::bytea) "
            "FROM pg_relation_filepath('customer_keys') AS path, "
            "unnest(ARRAY['', '_fsm', '_vm']) AS fork"
        ).fetchone()
    assert row is not None and row[0] is not None
    return bytes(row[0])


def old_file(url: str) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT pg_relation_filepath('customer_keys')").fetchone()
    assert row is not None
    return str(row[0])


@pytest.mark.postgres
def test_purge_leaves_no_dead_copy_of_a_forgotten_key_in_the_tables_files(
    desk: CustomerDesk, scratch_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    kept, gone = register(desk, 1), register(desk, 2)
    wrapped = desk.ledger.vault.store.get(gone)
    assert wrapped is not None
    desk.execute(c.ForgetCustomer(gone, TRACE))
    assert wrapped[1] in relation_files(scratch_database_url)  # deleted, yet still on disk
    before = old_file(scratch_database_url)

    assert main(["--store", scratch_database_url, "keys", "purge"]) == 0

    assert "rotate" in capsys.readouterr().out  # it says what covers backups and WAL
    assert wrapped[1] not in relation_files(scratch_database_url)
    with psycopg.connect(scratch_database_url, autocommit=True) as conn:
        row = conn.execute("SELECT pg_read_binary_file(%s, 0, 1 << 24, true)", (before,)).fetchone()
    assert row is None or row[0] is None or wrapped[1] not in bytes(row[0])  # truncated or gone
    assert desk.customer(kept).contact == {"name": "P1"}
    assert desk.customer(gone).contact == {}


@pytest.mark.postgres
def test_purge_erases_the_plain_body_hashes_an_older_version_stored_and_keeps_keyed_ones(
    desk: CustomerDesk, scratch_database_url: str
) -> None:
    plain = hashlib.sha256(b'POST /customers\n{"email":"old@example.com"}').hexdigest()
    keyed = Pseudonyms.from_secret(desk.ledger.vault.ledger_secret()).fingerprint("POST", "/x", {})
    with psycopg.connect(scratch_database_url) as conn:
        conn.execute(
            "INSERT INTO glow_command_answers (idempotency_key, fingerprint, status, response) "
            "VALUES ('old', %s, 201, '{}'), ('new', %s, 201, '{}')",
            (plain, keyed),
        )

    assert main(["--store", scratch_database_url, "keys", "purge"]) == 0

    with psycopg.connect(scratch_database_url) as conn:
        found = dict(conn.execute("SELECT idempotency_key, fingerprint FROM glow_command_answers"))
    assert found == {"old": "erased:unkeyed", "new": keyed}
