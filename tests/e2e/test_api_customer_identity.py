"""Who may learn which customer an email or phone names, over HTTP on PostgreSQL.

Identity ids and request fingerprints are keyed with the ledger's secret, so a dump or an
auditor cannot map them back to a phone by hashing guesses; a registration naming an existing
customer tells a caller who could not read that customer nothing and changes nothing; the
channel an event records is the token's, never the caller's say-so."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import httpx
import orjson
import psycopg
import pytest

from domain.ids import GLOWLEDGER_NAMESPACE
from tests.e2e.ledger_server import RunningLedger, auth_headers, ok

VICTIM_EMAIL, VICTIM_PHONE = "Noemie.Vasquez-Ferrand@Example.org", "+33 6 47 19 02 83"
WEB = {"role": "channel", "channel": "web"}
POS = {"role": "store-staff", "channel": "pos", "location": "NANTES-2"}
ADMIN = {"role": "admin"}


def send(
    client: httpx.Client,
    path: str,
    body: dict[str, Any],
    who: dict[str, Any],
    channel: str | None = None,
    key: str | None = None,
) -> httpx.Response:
    claims = dict(who)
    role = claims.pop("role")
    headers = {
        "Idempotency-Key": key or str(uuid.uuid4()),
        "X-Channel": channel or claims.get("channel") or "web",
    }
    return client.post(path, json=body, headers={**headers, **auth_headers(role, **claims)})


def get(client: httpx.Client, path: str, who: dict[str, Any]) -> dict[str, Any]:
    claims = dict(who)
    return ok(client.get(path, headers=auth_headers(claims.pop("role"), **claims)))


def victim(client: httpx.Client) -> str:
    body = {"name": "Noémie Vasquez", "email": VICTIM_EMAIL, "phone": VICTIM_PHONE}
    return str(ok(send(client, "/customers", body, WEB))["customer_id"])


def rows(url: str, query: str, *params: object) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()  # type: ignore[arg-type]


def identity_ids(url: str) -> set[uuid.UUID]:
    found = rows(
        url, "SELECT originator_id FROM customers_events WHERE topic LIKE %s", "%IdentityKey.%"
    )
    return {row[0] for row in found}


def customer_events(url: str) -> int:
    return len(rows(url, "SELECT 1 FROM customers_events"))


# --- 3: identity ids are keyed ------------------------------------------------------------


@pytest.mark.postgres
def test_stored_identity_ids_cannot_be_found_by_hashing_guessed_phones_and_emails(
    ledger: RunningLedger, client: httpx.Client
) -> None:
    customer_id = victim(client)
    ok(send(client, f"/customers/{customer_id}/forget", {}, ADMIN))
    stored = identity_ids(ledger.store_url)
    assert stored and all(key.version == 8 for key in stored)  # keyed, not uuid5

    guesses = [f"+336471902{n:02d}" for n in range(100)] + ["noemie.vasquez-ferrand@example.org"]
    hashed = {
        uuid.uuid5(GLOWLEDGER_NAMESPACE, f"identity:{kind}:{guess}")
        for guess in guesses
        for kind in ("phone", "email")
    }
    assert not hashed & stored  # the brute force of the probe finds nothing
    states = b"".join(
        bytes(row[0]) for row in rows(ledger.store_url, "SELECT state FROM customers_events")
    )
    assert not [
        guess for guess in hashed if guess.hex.encode() in states or str(guess).encode() in states
    ]


@pytest.mark.postgres
def test_an_auditor_without_pii_read_sees_no_identity_ids_and_nobody_does_after_forget(
    client: httpx.Client,
) -> None:
    customer_id = victim(client)
    path = f"/customers/{customer_id}/history"

    def linked(who: dict[str, Any]) -> list[Any]:
        events = get(client, path, who)["events"]
        return [e["data"]["identity_id"] for e in events if e["event"].startswith("Customer.Ident")]

    assert set(linked({"role": "auditor"})) == {"[redacted]"}
    assert all(
        uuid.UUID(found).version == 8 for found in linked({"role": "auditor", "scope": "pii:read"})
    )
    ok(send(client, f"/customers/{customer_id}/forget", {}, ADMIN))
    assert set(linked(ADMIN)) == {"[erased]"}


# --- 4: registration tells and changes nothing without a right to -------------------------

HIJACKS = [
    {"email": "NOEMIE.VASQUEZ-FERRAND@EXAMPLE.ORG"},
    {"email": "noemie.vasquez-ferrand+shop@example.org"},
    {"email": " Noemie.Vasquez-Ferrand+x@EXAMPLE.org ", "phone": "+33 6 12 00 00 01"},
    {"email": "\uff4e\uff4f\uff45\uff4d\uff49\uff45.vasquez-ferrand@example.org"},
    {"phone": "06 47 19 02 83"},
    {"phone": "0033 6 47 19 02 83", "email": "attacker@example.net"},
]


@pytest.mark.postgres
@pytest.mark.parametrize("who", [WEB, POS], ids=["channel", "store-staff"])
@pytest.mark.parametrize("contact", HIJACKS, ids=[str(n) for n in range(len(HIJACKS))])
def test_a_registration_naming_someone_else_gets_no_id_and_changes_nothing(
    ledger: RunningLedger, client: httpx.Client, who: dict[str, Any], contact: dict[str, str]
) -> None:
    customer_id = victim(client)
    before = get(client, f"/customers/{customer_id}", ADMIN)
    events = customer_events(ledger.store_url)

    response = send(client, "/customers", {"name": "Mallory", **contact}, who)

    assert response.status_code == 409, response.text
    assert response.json()["type"] == "/problems/verification-required"
    assert customer_id not in response.text
    assert customer_events(ledger.store_url) == events
    assert get(client, f"/customers/{customer_id}", ADMIN) == before
    if "phone" in contact and "06 47" not in contact["phone"] and "6 47" not in contact["phone"]:
        alone = send(client, "/customers", {"name": "M", "phone": contact["phone"]}, WEB)
        assert alone.status_code == 201  # the attacker's phone was never linked to the victim


@pytest.mark.postgres
def test_staff_who_verified_the_person_get_the_id_and_the_link_records_the_check(
    client: httpx.Client,
) -> None:
    customer_id = victim(client)
    body = {
        "name": "N. Vasquez",
        "email": "noemie.vasquez-ferrand@example.org",
        "phone": "+33 2 40 00 12 34",
        "verification": "id-document",
    }
    matched = ok(send(client, "/customers", body, POS))
    assert matched == {"customer_id": customer_id, "matched": True}
    events = get(client, f"/customers/{customer_id}/history", ADMIN)["events"]
    link = [e for e in events if e["event"] == "Customer.IdentityLinked"][-1]
    assert link["data"]["verification"] == "id-document" and link["trace"]["channel"] == "pos"
    assert send(client, "/customers", body, WEB).status_code == 403  # a channel cannot vouch


@pytest.mark.postgres
def test_an_admin_is_told_who_matched_and_nothing_is_linked(
    ledger: RunningLedger, client: httpx.Client
) -> None:
    customer_id = victim(client)
    events = customer_events(ledger.store_url)
    body = {"name": "N", "email": VICTIM_EMAIL.upper(), "phone": "+33 2 40 99 88 77"}
    assert ok(send(client, "/customers", body, ADMIN)) == {
        "customer_id": customer_id,
        "matched": True,
    }
    assert customer_events(ledger.store_url) == events


@pytest.mark.postgres
def test_neither_a_conflict_nor_a_contact_change_names_the_other_customer(
    ledger: RunningLedger, client: httpx.Client
) -> None:
    other = victim(client)
    mine = str(
        ok(send(client, "/customers", {"name": "A", "email": "a@example.net"}, WEB))["customer_id"]
    )
    events = customer_events(ledger.store_url)
    both = send(
        client, "/customers", {"name": "X", "email": "a@example.net", "phone": VICTIM_PHONE}, WEB
    )
    moved = send(client, f"/customers/{mine}/contact-details", {"email": VICTIM_EMAIL.lower()}, WEB)
    for refused in (both, moved):
        assert refused.status_code == 409, refused.text
        assert other not in refused.text
    assert customer_events(ledger.store_url) == events


# --- 11: fingerprints are keyed -------------------------------------------------------------


@pytest.mark.postgres
def test_the_stored_fingerprint_of_a_body_is_not_its_plain_hash(
    ledger: RunningLedger, client: httpx.Client
) -> None:
    key = "register-" + uuid.uuid4().hex
    body = {"name": "Noémie Vasquez", "email": VICTIM_EMAIL}
    ok(send(client, "/customers", body, WEB, key=key))
    stored = rows(
        ledger.store_url,
        "SELECT fingerprint FROM glow_command_answers WHERE position(%s in idempotency_key) > 0",
        key,
    )
    assert len(stored) == 1
    canonical = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    plain = {
        hashlib.sha256(b"POST /customers\n" + canonical).hexdigest(),
        hashlib.sha256(canonical).hexdigest(),
    }
    assert stored[0][0] not in plain and stored[0][0].startswith("k1:")
    again = send(client, "/customers", body, WEB, key=key)  # still recognised on a retry
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"


# --- 14: the channel is the token's ---------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("channel", ["pos", "backoffice", "marketplace"])
def test_a_customer_token_cannot_record_another_channel_on_a_consent(
    client: httpx.Client, channel: str
) -> None:
    customer_id = victim(client)
    me = {"role": "customer", "customer_id": customer_id}  # no channel claim
    grant = {"purpose": "marketing_sms", "text_version": "v1"}
    refused = send(client, f"/customers/{customer_id}/consents/grant", grant, me, channel=channel)
    assert refused.status_code == 403, refused.text
    ok(send(client, f"/customers/{customer_id}/consents/grant", grant, me, channel="web"))
    assert (
        get(client, f"/customers/{customer_id}", ADMIN)["consents"]["marketing_sms"]["channel"]
        == "web"
    )


@pytest.mark.postgres
def test_store_staff_without_a_channel_claim_act_for_the_till_only(client: httpx.Client) -> None:
    staff = {"role": "store-staff", "location": "NANTES-2"}
    body = {"name": "Z", "email": "z@example.net"}
    assert send(client, "/customers", body, staff, channel="web").status_code == 403
    created = ok(send(client, "/customers", body, staff, channel="pos"))
    assert get(client, f"/customers/{created['customer_id']}", ADMIN)["registered_on"] == "pos"
