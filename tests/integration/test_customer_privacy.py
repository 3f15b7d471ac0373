"""The customer ledger on real stores: identities resolve across channels, personal data is
sealed at rest, and after forget not even a dump of the whole database holds it."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import threading
import uuid
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from cli.main import main
from configuration.settings import Settings
from domain import customer_commands as c
from domain.customer import Customer
from domain.trace import Trace
from privacy.contacts import normalise_email, normalise_phone
from privacy.key_stores import SqliteKeyStore
from privacy.master_keys import MasterKeys
from privacy.pseudonyms import Pseudonyms
from service_layer.customer_desk import CustomerDesk
from service_layer.customer_store import close_customer_ledger, open_customer_ledger
from storage.command_answers import CommandAnswer
from storage.migrations import apply_migrations

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
NAME = "Quentaline Vostrikova"
EMAIL = "Quentaline.Vostrikova+shop@Example.com"
PHONE = "06 47 11 23 58"
STREET = "17 rue Zephyrinovna"
COMMENT = "my cheeks went blotchy-xq7 after the serum"
ALLERGY = "METHYLISOTHIAZOLINONE"
PLAINTEXTS = [NAME, "quentaline.vostrikova@example.com", "+33647112358", STREET, COMMENT, ALLERGY]


def claims(desk: CustomerDesk) -> tuple[c.IdentityClaim, ...]:
    pseudonyms = Pseudonyms.from_secret(desk.ledger.vault.ledger_secret())
    return (
        c.IdentityClaim("email", pseudonyms.identity_id("email", normalise_email(EMAIL))),
        c.IdentityClaim("phone", pseudonyms.identity_id("phone", normalise_phone(PHONE))),
    )


def contact() -> dict[str, object]:
    return {
        "name": NAME,
        "email": normalise_email(EMAIL),
        "phone": normalise_phone(PHONE),
        "date_of_birth": date(1987, 3, 21),
        "address": {"line1": STREET, "city": "Lyon", "postcode": "69003", "country": "FR"},
    }


@pytest.fixture
def postgres_desk(scratch_database_url: str) -> Iterator[CustomerDesk]:
    apply_migrations(scratch_database_url)
    settings = Settings(event_store_url=scratch_database_url, master_key=MasterKeys.generate())
    ledger = open_customer_ledger(settings)
    desk = CustomerDesk(ledger)
    try:
        yield desk
    finally:
        desk.close()
        close_customer_ledger(ledger)


@pytest.fixture
def sqlite_desk(tmp_path: Path) -> Iterator[CustomerDesk]:
    ledger = open_customer_ledger(Settings(event_store_url=f"sqlite:///{tmp_path}/ledger.sqlite"))
    desk = CustomerDesk(ledger)
    try:
        yield desk
    finally:
        desk.close()
        close_customer_ledger(ledger)


def register_everything(desk: CustomerDesk) -> uuid.UUID:
    web, pos = Trace("web", "site", NOW), Trace("pos", "till-3", NOW)
    first = desk.execute(c.RegisterCustomer(uuid.uuid4(), contact(), claims(desk)[:1], web))
    verified = c.Matching(verification="id-document")
    again = desk.execute(c.RegisterCustomer(uuid.uuid4(), contact(), claims(desk), pos, verified))
    assert first.created and not again.created
    assert again.body["customer_id"] == first.body["customer_id"]
    customer_id = uuid.UUID(first.body["customer_id"])
    skin = {"skin_type": "sensitive", "concerns": ["redness"], "allergies": [ALLERGY]}
    desk.execute(c.ChangeSkinProfile(customer_id, skin, web))
    desk.execute(c.GiveFeedback(customer_id, "SERUM-30", 2, COMMENT, web))
    desk.execute(c.GrantConsent(customer_id, "personalisation", "v2", web))
    return customer_id


def pg_dump(url: str) -> bytes:
    return subprocess.run(
        ["pg_dump", "--data-only", "--inserts", url], check=True, capture_output=True
    ).stdout


@pytest.mark.postgres
def test_registering_on_web_and_at_a_till_with_one_email_makes_one_customer(
    postgres_desk: CustomerDesk,
) -> None:
    customer_id = register_everything(postgres_desk)
    customer = postgres_desk.customer(customer_id)
    assert customer.contact["name"] == NAME and customer.skin["allergies"] == [ALLERGY]
    assert len(customer.identities) == 2


@pytest.mark.postgres
def test_after_forget_a_dump_of_the_database_holds_none_of_the_plaintext(
    postgres_desk: CustomerDesk, scratch_database_url: str
) -> None:
    customer_id = register_everything(postgres_desk)
    before = pg_dump(scratch_database_url)
    assert str(customer_id).encode() in before  # the dump does see the customer's events
    assert [p for p in PLAINTEXTS if p.encode() in before] == []  # sealed at rest already

    postgres_desk.execute(c.ForgetCustomer(customer_id, Trace("web", "customer", NOW)))

    after = pg_dump(scratch_database_url)
    assert [p for p in PLAINTEXTS if p.encode() in after] == []
    assert postgres_desk.ledger.vault.data_key(customer_id) is None
    forgotten: Customer = postgres_desk.customer(customer_id)
    assert forgotten.forgotten and forgotten.erased
    assert forgotten.contact == {} and forgotten.skin == {}
    assert forgotten.feedback == [{"sku": "SERUM-30", "rating": 2, "comment": None}]
    assert forgotten.has_consent("personalisation")  # non-personal history replays whole


@pytest.mark.postgres
def test_a_replay_of_a_forgotten_customers_events_shows_the_personal_fields_erased(
    postgres_desk: CustomerDesk,
) -> None:
    customer_id = register_everything(postgres_desk)
    postgres_desk.execute(c.ForgetCustomer(customer_id, Trace("web", "customer", NOW)))
    events = postgres_desk.history(postgres_desk.customer(customer_id))
    sealed = [e for e in events if hasattr(e, "personal")]
    assert sealed and all(e.personal is None for e in sealed)


def test_the_embedded_sqlite_store_seals_and_forgets_alike(
    sqlite_desk: CustomerDesk, tmp_path: Path
) -> None:
    customer_id = register_everything(sqlite_desk)
    assert sqlite_desk.customer(customer_id).contact["name"] == NAME
    sqlite_desk.execute(c.ForgetCustomer(customer_id, Trace("web", "customer", NOW)))
    assert sqlite_desk.customer(customer_id).contact == {}
    stored = b"".join(path.read_bytes() for path in tmp_path.glob("*.sqlite*"))
    assert [p for p in PLAINTEXTS if p.encode() in stored] == []


def test_after_forget_the_writers_cache_holds_none_of_the_plaintext(
    sqlite_desk: CustomerDesk,
) -> None:
    """Customer commands go through a writer that caches aggregates between commands: the
    Forgotten event erases the personal fields of the very aggregate it keeps."""
    customer_id = register_everything(sqlite_desk)
    cache = sqlite_desk.writer.core.cache
    cached = cache.get(customer_id)
    assert isinstance(cached, Customer) and cached.contact["name"] == NAME  # it does cache

    sqlite_desk.execute(c.ForgetCustomer(customer_id, Trace("web", "customer", NOW)))

    held = repr(vars(cache.get(customer_id)))
    assert [p for p in PLAINTEXTS if p in held] == []


def test_a_reader_mid_transaction_only_delays_the_wal_truncation_after_a_key_is_deleted(
    tmp_path: Path,
) -> None:
    store = SqliteKeyStore(str(tmp_path / "keys.sqlite"))
    with closing(sqlite3.connect(tmp_path / "keys.sqlite")) as conn:
        conn.execute("PRAGMA journal_mode=WAL")  # as the customer ledger's recorder sets it
    customer = uuid.uuid4()
    wrapped = store.put_if_absent(customer, ("master", os.urandom(60)))
    reader = sqlite3.connect(tmp_path / "keys.sqlite", check_same_thread=False)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM customer_keys").fetchone()  # holds a snapshot
    threading.Timer(0.3, reader.commit).start()

    store.delete(customer)

    files = b"".join(path.read_bytes() for path in tmp_path.iterdir())  # reader still open
    reader.close()
    assert wrapped[1] not in files


def test_glow_keys_purge_on_the_embedded_store_truncates_its_wal_and_erases_plain_hashes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = f"sqlite:///{tmp_path}/ledger.sqlite"
    ledger = open_customer_ledger(Settings(event_store_url=store))
    plain = hashlib.sha256(b'POST /customers\n{"email":"old@example.com"}').hexdigest()
    ledger.events.put([], command_answers=[CommandAnswer("old", plain, {}, created=True)])
    close_customer_ledger(ledger)
    assert plain.encode() in (tmp_path / "ledger.customers.sqlite").read_bytes()

    assert main(["--store", store, "keys", "purge"]) == 0

    said = capsys.readouterr().out
    assert "the WAL was truncated" in said and "1 unkeyed request fingerprint(s)" in said
    stored = b"".join(path.read_bytes() for path in tmp_path.iterdir())
    assert plain.encode() not in stored
