"""The backup drill on a real PostgreSQL: seed inventory and customers, `glow backup`, forget a
customer after the backup, `glow restore` into an empty database, `glow verify --checkpoint`
proves the restored log against the backup's checkpoint; the customer forgotten after the
backup stays unreadable, the others read. A dump or a restored row altered is caught, each
with a message that says what is wrong."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

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
from tests.e2e.conftest import scratch_database
from tests.integration.audit_shop import open_shop

MASTER = MasterKeys.generate()
TRACE = Trace("web", "tester", datetime(2026, 11, 26, tzinfo=UTC))


@dataclass
class Drill:
    live: str
    dump: Path
    manifest: Path
    kept: uuid.UUID
    gone: uuid.UUID


class Desk:
    def __init__(self, url: str) -> None:
        self.ledger = open_customer_ledger(Settings(event_store_url=url, master_key=MASTER))
        self.desk = CustomerDesk(self.ledger)

    def register(self, n: int) -> uuid.UUID:
        pseudonyms = Pseudonyms.from_secret(self.ledger.vault.ledger_secret())
        claim = c.IdentityClaim("email", pseudonyms.identity_id("email", f"p{n}@example.com"))
        command = c.RegisterCustomer(uuid.uuid4(), {"name": f"P{n}"}, (claim,), TRACE)
        return uuid.UUID(self.desk.execute(command).body["customer_id"])

    def close(self) -> None:
        self.desk.close()
        close_customer_ledger(self.ledger)


@pytest.fixture
def drill(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Drill]:
    monkeypatch.setenv("GLOW_MASTER_KEY", MASTER)
    monkeypatch.delenv("GLOW_AUDIT_SIGNING_KEY", raising=False)
    with scratch_database() as live:
        with open_shop(live) as shop:
            shop.receive("B1", 10)
            shop.sell(2)
        desk = Desk(live)
        try:
            kept, gone = desk.register(1), desk.register(2)
            dump = tmp_path / "ledger.dump"
            assert main(["--store", live, "backup", str(dump)]) == 0
            desk.desk.execute(c.ForgetCustomer(gone, TRACE))  # after the backup
        finally:
            desk.close()
        with open_shop(live, first_time=False) as shop:
            shop.sell(1)  # the live log moves on past the backup
        yield Drill(live, dump, dump.with_name("ledger.dump.manifest.json"), kept, gone)


def _restore(drill: Drill, into: str, dump: Path | None = None) -> int:
    backup = str(dump or drill.dump)
    return main(["--store", drill.live, "restore", backup, "--into", into])


def _verify(url: str, manifest: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["--store", url, "verify", "--checkpoint", str(manifest)])
    return code, capsys.readouterr().err


def _count(url: str, query: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(query).fetchone()  # type: ignore[call-overload]
    assert row is not None
    return int(row[0])


@pytest.mark.postgres
def test_a_restored_backup_verifies_and_keeps_a_customer_forgotten_after_it_unreadable(
    drill: Drill, scratch_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = json.loads(drill.manifest.read_text())
    assert "not included" in manifest["key_store"]
    assert manifest["versions"]["pg_dump"].split(".")[0] == "15"

    assert _restore(drill, scratch_database_url) == 0
    restored = scratch_database_url

    code, err = _verify(restored, drill.manifest, capsys)
    assert code == 0, err
    assert f"matches the checkpoint at position {manifest['checkpoint']['head']}" in err
    inventory = manifest["log"]["inventory_events"]
    assert _count(restored, "SELECT count(*) FROM inventory_events") == inventory["rows"]
    assert _count(drill.live, "SELECT count(*) FROM inventory_events") > inventory["rows"]
    forgotten = "SELECT count(*) FROM customers_events WHERE topic LIKE '%Forgotten%'"
    assert _count(restored, forgotten) == 0  # the restored log predates the forget...
    desk = Desk(restored)
    try:
        assert desk.desk.customer(drill.kept).contact == {"name": "P1"}
        assert desk.desk.customer(drill.gone).contact == {}  # ...yet the key stays gone
    finally:
        desk.close()


@pytest.mark.postgres
def test_an_altered_dump_is_refused_and_the_target_stays_empty(
    drill: Drill, scratch_database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    altered = tmp_path / "altered" / "ledger.dump"
    altered.parent.mkdir()
    shutil.copy(drill.manifest, altered.with_name("ledger.dump.manifest.json"))
    data = bytearray(drill.dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    altered.write_bytes(bytes(data))
    capsys.readouterr()

    assert _restore(drill, scratch_database_url, altered) == 1

    assert "does not match its manifest" in capsys.readouterr().err
    tables = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
    assert _count(scratch_database_url, tables) == 0


@pytest.mark.postgres
def test_a_target_that_is_not_empty_is_refused(
    drill: Drill, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _count(drill.live, "SELECT count(*) FROM inventory_events")
    capsys.readouterr()

    assert _restore(drill, drill.live) == 1

    err = capsys.readouterr().err
    assert "is not empty" in err and "only into an empty database" in err
    assert _count(drill.live, "SELECT count(*) FROM inventory_events") == before


@pytest.mark.postgres
def test_a_restored_event_altered_fails_verification_at_its_position(
    drill: Drill, scratch_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _restore(drill, scratch_database_url) == 0
    with psycopg.connect(scratch_database_url) as conn:
        conn.execute("UPDATE inventory_events SET state = state || ' ' WHERE notification_id = 3")

    code, err = _verify(scratch_database_url, drill.manifest, capsys)

    assert code == 1
    assert "TAMPERED at position 3: the stored event differs" in err


@pytest.mark.postgres
def test_a_log_rewritten_with_its_chain_still_fails_against_the_backups_checkpoint(
    drill: Drill, scratch_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _restore(drill, scratch_database_url) == 0
    with psycopg.connect(scratch_database_url) as conn:  # edit, re-chain, drop the evidence
        conn.execute("UPDATE inventory_events SET state = state || ' ' WHERE notification_id = 3")
        conn.execute("DELETE FROM audit_chain WHERE position >= 3")
        conn.execute("DELETE FROM audit_checkpoints")
    assert main(["--store", scratch_database_url, "chain"]) == 0
    capsys.readouterr()
    assert main(["--store", scratch_database_url, "verify"]) == 0  # consistent on its own

    code, err = _verify(scratch_database_url, drill.manifest, capsys)

    assert code == 1
    assert "differs from the expected checkpoint (the backup's)" in err


@pytest.mark.postgres
def test_a_customer_event_removed_after_the_restore_fails_verification(
    drill: Drill, scratch_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _restore(drill, scratch_database_url) == 0
    with psycopg.connect(scratch_database_url) as conn:
        conn.execute(
            "DELETE FROM customers_events WHERE notification_id = "
            "(SELECT max(notification_id) FROM customers_events)"
        )

    code, err = _verify(scratch_database_url, drill.manifest, capsys)

    assert code == 1
    assert "customers_events holds" in err and "the backup held" in err


@pytest.mark.postgres
def test_a_key_store_that_cannot_be_read_is_found_before_anything_is_restored(
    drill: Drill, scratch_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    nowhere = scratch_database_url.rsplit("/", 1)[0] + "/glow_no_such_database"

    code = main(
        ["restore", str(drill.dump), "--into", scratch_database_url, "--keys-from", nowhere]
    )

    assert code == 1
    assert "cannot connect to the live key store" in capsys.readouterr().err
    tables = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
    assert _count(scratch_database_url, tables) == 0
