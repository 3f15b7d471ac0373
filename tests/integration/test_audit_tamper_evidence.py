"""`glow verify` on a real PostgreSQL names the first position where the stored events and the
hash chain disagree: a row's bytes edited, a row deleted, two rows swapped, a chain rewritten
behind a signed checkpoint."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from cli.main import main
from tests.e2e.conftest import scratch_database
from tests.integration.audit_shop import open_shop

KEY = "test-signing-key"


@pytest.fixture
def store() -> Iterator[str]:
    with scratch_database() as url:
        with open_shop(url) as shop:
            shop.receive("B1", 10)
            shop.sell(2)
            shop.sell(3)
        assert main(["--store", url, "chain"]) == 0
        yield url


def _sql(url: str, *statements: str) -> None:
    with psycopg.connect(url) as conn:
        for statement in statements:
            conn.execute(statement)  # type: ignore[arg-type]


def _verify(url: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["--store", url, "verify"])
    return code, capsys.readouterr().err


def test_an_untouched_log_verifies(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _verify(store, capsys)
    assert code == 0, err
    assert "chain intact over 12 event(s)" in err


def test_editing_one_stored_event_is_detected_at_its_position(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _sql(store, "UPDATE inventory_events SET state = state || ' '::bytea WHERE notification_id = 6")
    code, err = _verify(store, capsys)
    assert code == 1
    assert "TAMPERED at position 6: the stored event differs" in err


def test_deleting_one_stored_event_is_detected_at_its_position(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _sql(store, "DELETE FROM inventory_events WHERE notification_id = 5")
    code, err = _verify(store, capsys)
    assert code == 1
    assert "TAMPERED at position 5: the chain has a link here but no stored event" in err


def test_swapping_two_events_positions_is_detected_at_the_first(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _sql(
        store,
        "UPDATE inventory_events SET notification_id = -1 WHERE notification_id = 7",
        "UPDATE inventory_events SET notification_id = 7 WHERE notification_id = 8",
        "UPDATE inventory_events SET notification_id = 8 WHERE notification_id = -1",
    )
    code, err = _verify(store, capsys)
    assert code == 1
    assert "TAMPERED at position 7: the stored event differs" in err


def test_a_chain_rewritten_to_match_an_edit_is_caught_by_the_signed_checkpoint(
    store: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GLOW_AUDIT_SIGNING_KEY", KEY)
    exported = tmp_path / "checkpoints.json"
    assert main(["--store", store, "checkpoint", "--export", str(exported)]) == 0
    assert '"algorithm": "HMAC-SHA256"' in exported.read_text()
    _sql(
        store,
        "UPDATE inventory_events SET state = state || ' '::bytea WHERE notification_id = 3",
        "DELETE FROM audit_chain WHERE position >= 3",
    )
    assert main(["--store", store, "chain"]) == 0  # the chain now agrees with the edited log
    code, err = _verify(store, capsys)
    assert code == 1
    assert "TAMPERED at position 12: the checkpoint taken at this head does not match" in err


def test_a_forged_checkpoint_signature_is_detected(
    store: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GLOW_AUDIT_SIGNING_KEY", KEY)
    assert main(["--store", store, "checkpoint"]) == 0
    _sql(store, "UPDATE audit_checkpoints SET signature = repeat('0', 64)")
    code, err = _verify(store, capsys)
    assert code == 1
    assert "position 12: a checkpoint's signature is not valid" in err


def test_the_chain_follower_resumes_where_it_stopped(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_shop(store, first_time=False) as shop:
        shop.sell(1)
    capsys.readouterr()
    assert main(["--store", store, "chain"]) == 0
    assert "chained 1 event(s)" in capsys.readouterr().out
    code, err = _verify(store, capsys)
    assert code == 0, err


def test_the_embedded_sqlite_store_has_no_chain_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--store", f"sqlite:///{tmp_path / 'ledger.sqlite'}", "verify"])
    assert code == 2
    assert "kept only with the PostgreSQL store" in capsys.readouterr().err
