"""`glow keys rotate` re-wraps every customer key under the new master key on PostgreSQL, after
which the old master key can be dropped and every customer still reads back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import psycopg
import pytest

from cli.main import main
from configuration.settings import Settings
from domain import customer_commands as c
from domain.trace import Trace
from privacy.master_keys import MasterKeys, key_id
from privacy.pseudonyms import Pseudonyms
from service_layer.customer_desk import CustomerDesk
from service_layer.customer_store import close_customer_ledger, open_customer_ledger
from storage.migrations import apply_migrations

OLD, NEW = MasterKeys.generate(), MasterKeys.generate()
TRACE = Trace("web", "tester", datetime(2026, 11, 26, tzinfo=UTC))


def register(settings: Settings, count: int) -> list[uuid.UUID]:
    ledger = open_customer_ledger(settings)
    desk = CustomerDesk(ledger)
    pseudonyms = Pseudonyms.from_secret(ledger.vault.ledger_secret())
    try:
        ids = []
        for n in range(count):
            claim = c.IdentityClaim("email", pseudonyms.identity_id("email", f"p{n}@example.com"))
            outcome = desk.execute(
                c.RegisterCustomer(uuid.uuid4(), {"name": f"P{n}"}, (claim,), TRACE)
            )
            ids.append(uuid.UUID(outcome.body["customer_id"]))
        return ids
    finally:
        desk.close()
        close_customer_ledger(ledger)


@pytest.mark.postgres
def test_rotation_rewraps_every_key_and_the_old_master_can_go(
    scratch_database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    apply_migrations(scratch_database_url)
    ids = register(Settings(event_store_url=scratch_database_url, master_key=OLD), 3)
    old_ledger = open_customer_ledger(
        Settings(event_store_url=scratch_database_url, master_key=OLD)
    )
    old_secret = old_ledger.vault.ledger_secret()
    close_customer_ledger(old_ledger)

    monkeypatch.setenv("GLOW_MASTER_KEY", NEW)
    monkeypatch.setenv("GLOW_PREVIOUS_MASTER_KEYS", OLD)
    assert main(["--store", scratch_database_url, "keys", "rotate"]) == 0
    assert "re-wrapped 4 key(s)" in capsys.readouterr().out  # 3 customers' and the secret

    with psycopg.connect(scratch_database_url) as conn:
        wrapped_by = {row[0] for row in conn.execute("SELECT master_key_id FROM customer_keys")}
    assert wrapped_by == {key_id(MasterKeys.from_text(NEW).current)}
    ledger = open_customer_ledger(Settings(event_store_url=scratch_database_url, master_key=NEW))
    try:
        names = [CustomerDesk(ledger).customer(i).contact["name"] for i in ids]
        secret = ledger.vault.ledger_secret()
    finally:
        close_customer_ledger(ledger)
    assert names == ["P0", "P1", "P2"]
    assert secret == old_secret  # keyed ids made before the rotation still match
