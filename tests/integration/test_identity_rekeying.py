"""`glow keys rekey-identities` on both stores: customers registered by an older version under
guessable uuid5 identity ids get keyed ids, and are still found by their email and phone."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cli.main import main
from configuration.settings import Settings
from domain import customer_commands as c
from domain.trace import Trace
from privacy.master_keys import MasterKeys
from privacy.pseudonyms import Pseudonyms, legacy_identity_id
from service_layer.customer_desk import CustomerDesk
from service_layer.customer_store import close_customer_ledger, open_customer_ledger
from storage.migrations import apply_migrations

TRACE = Trace("web", "older-version", datetime(2026, 11, 1, tzinfo=UTC))
MASTER = MasterKeys.generate()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    monkeypatch.setenv("GLOW_MASTER_KEY", MASTER)
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/ledger.sqlite"
        return
    url: str = request.getfixturevalue("scratch_database_url")
    apply_migrations(url)
    yield url


def desk_on(store: str) -> CustomerDesk:
    return CustomerDesk(open_customer_ledger(Settings.from_env(event_store_url=store)))


def register_the_old_way(desk: CustomerDesk, contact: dict[str, str]) -> uuid.UUID:
    claims = tuple(
        c.IdentityClaim(kind, legacy_identity_id(kind, key)) for kind, key in contact.items()
    )
    outcome = desk.execute(
        c.RegisterCustomer(uuid.uuid4(), {"name": "Old", **contact}, claims, TRACE)
    )
    return uuid.UUID(outcome.body["customer_id"])


def test_old_identity_ids_are_replaced_by_keyed_ones_and_still_find_their_customer(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    desk = desk_on(store)
    both = register_the_old_way(desk, {"email": "old.one@example.com", "phone": "+33647190283"})
    gone = register_the_old_way(desk, {"email": "gone@example.com"})
    desk.execute(c.ForgetCustomer(gone, TRACE))
    desk.close()
    close_customer_ledger(desk.ledger)

    assert main(["--store", store, "keys", "rekey-identities"]) == 0

    assert "2 identity id(s) of 1 customer(s) re-keyed" in capsys.readouterr().out
    desk = desk_on(store)
    try:
        pseudonyms = Pseudonyms.from_secret(desk.ledger.vault.ledger_secret())
        assert {uuid.UUID(key).version for key in desk.customer(both).identities} == {8}
        phone = c.IdentityClaim(
            "phone",
            pseudonyms.identity_id("phone", "+33647190283"),
            legacy_identity_id("phone", "+33647190283"),
        )
        admin = c.Matching(sees_customer=True)
        found = desk.execute(
            c.RegisterCustomer(uuid.uuid4(), {"name": "?"}, (phone,), TRACE, admin)
        )
        assert found.body == {"customer_id": str(both), "matched": True}
    finally:
        desk.close()
        close_customer_ledger(desk.ledger)
