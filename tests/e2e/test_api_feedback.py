"""Survey answers by signed webhook and the support log, over HTTP on PostgreSQL.

The survey tool is played by the `standardwebhooks` library's own signer: a signed answer is
recorded once however often it is delivered; a bad, missing or stale signature is a 401 that
records nothing; a mapped answer changes the profile only with the personalisation consent;
an anonymous answer is only counted. Support contacts are recorded by the back office (and
store staff for their store), their notes shown only to who may read them, exported, and gone
from the database once the customer is forgotten, with the survey text."""

from __future__ import annotations

import base64
import logging
import os
import subprocess
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import psycopg
import pytest
from standardwebhooks.webhooks import Webhook

from configuration.settings import Settings
from tests.e2e.ledger_server import RunningLedger, auth_headers, ok, serve
from tests.e2e.test_api_customers import as_customer, get, register, send

SECRET = "whsec_" + base64.b64encode(os.urandom(32)).decode()
OTHER_SECRET = "whsec_" + base64.b64encode(os.urandom(32)).decode()
ANSWER_TEXT = "my cheeks sting-qx7 after the toner"
NOTES = "called about a rash-zv3, offered a refund"
ADMIN = {"role": "admin"}
BACKOFFICE = {"role": "channel", "channel": "backoffice"}
STAFF = {"role": "store-staff", "channel": "pos", "location": "BREST-1"}
TABLES = (
    "customers_events",
    "glow_command_answers",
    "survey_deliveries",
    "survey_answer_counts",
    "pii_access_log",
)

pytestmark = pytest.mark.postgres


@pytest.fixture
def ledger(postgres_store: str) -> Iterator[RunningLedger]:
    settings = Settings(event_store_url=postgres_store, survey_webhook_secrets=f"polls:{SECRET}")
    with serve(settings) as running:
        yield running


@pytest.fixture
def client(ledger: RunningLedger) -> Iterator[httpx.Client]:
    with httpx.Client(headers=auth_headers(), base_url=ledger.base_url, timeout=30) as http:
        yield http


def signed(
    body: dict[str, Any],
    webhook_id: str | None = None,
    secret: str = SECRET,
    at: datetime | None = None,
    source: str = "polls",
) -> tuple[bytes, dict[str, str]]:
    """The body and headers a Standard Webhooks sender makes (the library's own signer)."""
    raw = orjson.dumps(body)
    msg_id = webhook_id or f"msg_{uuid.uuid4().hex}"
    moment = at or datetime.now(tz=UTC)
    headers = {
        "X-Survey-Source": source,
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, moment, raw),
        "Content-Type": "application/json",
    }
    return raw, headers


def deliver(client: httpx.Client, raw: bytes, headers: dict[str, str]) -> httpx.Response:
    return client.post("/feedback/surveys", content=raw, headers={**headers, "Authorization": ""})


def survey_answer(customer_id: str | None, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "survey_id": "skin-check-2026",
        "question_id": "q-how-does-it-feel",
        "question_kind": "text",
        "answer": ANSWER_TEXT,
        "answered_at": datetime.now(tz=UTC).isoformat(),
    }
    if customer_id is not None:
        body["customer_id"] = customer_id
    else:
        body["anonymous_id"] = "anon-7f3a"
    return {**body, **changes}


def rows(store_url: str) -> dict[str, int]:
    with psycopg.connect(store_url) as conn:
        return {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
            for table in TABLES
        }


def dump(store_url: str) -> bytes:
    return subprocess.run(
        ["pg_dump", "--data-only", "--inserts", store_url], check=True, capture_output=True
    ).stdout


def test_a_signed_answer_is_recorded_once_sealed_and_nowhere_in_plaintext(
    ledger: RunningLedger, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    customer_id = register(client)
    raw, headers = signed(survey_answer(customer_id))
    before = rows(ledger.store_url)

    with caplog.at_level(logging.DEBUG):
        first = deliver(client, raw, headers)
        again = deliver(client, raw, headers)

    assert first.status_code == 200, first.text
    assert first.json()["profile"] == "not-mapped" and ANSWER_TEXT not in first.text
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    after = rows(ledger.store_url)
    assert after["customers_events"] == before["customers_events"] + 1  # recorded once
    assert after["glow_command_answers"] == before["glow_command_answers"] + 1
    (answered,) = ok(get(client, f"/customers/{customer_id}/export", ADMIN))["survey_answers"]
    assert answered["answer"] == ANSWER_TEXT and answered["question_id"] == "q-how-does-it-feel"
    assert ANSWER_TEXT.encode() not in dump(ledger.store_url)  # sealed, even before forget
    assert ANSWER_TEXT not in caplog.text  # no log line (request logs included) holds it
    assert any(r.name == "glow.requests" for r in caplog.records)  # the request was logged


SIGNATURE_FAULTS = {
    "wrong secret": lambda body: signed(body, secret=OTHER_SECRET),
    "stale timestamp": lambda body: signed(body, at=datetime.now(tz=UTC) - timedelta(minutes=6)),
    "unknown source": lambda body: signed(body, source="elsewhere"),
    "no signature": lambda body: (
        lambda raw, h: (raw, {k: v for k, v in h.items() if k != "webhook-signature"})
    )(*signed(body)),
    "body changed after signing": lambda body: (
        lambda raw, h: (raw.replace(b'"answer":4', b'"answer":5'), h)
    )(*signed(body)),
    "not even JSON": lambda body: (lambda raw, h: (b"not json", h))(*signed(body)),
}


@pytest.mark.parametrize("fault", SIGNATURE_FAULTS.values(), ids=SIGNATURE_FAULTS.keys())
def test_a_badly_signed_delivery_is_a_401_that_records_nothing(
    ledger: RunningLedger, client: httpx.Client, fault: Any
) -> None:
    customer_id = register(client)
    anonymous_id = None
    before = rows(ledger.store_url)
    for who in (customer_id, anonymous_id):
        raw, headers = fault(survey_answer(who, question_kind="scale", answer=4))
        refused = deliver(client, raw, headers)
        assert refused.status_code == 401, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["type"] == "/problems/bad-signature"
        assert "nothing was recorded" in refused.json()["detail"]
    assert rows(ledger.store_url) == before


def test_a_bearer_token_is_no_signature(ledger: RunningLedger, client: httpx.Client) -> None:
    customer_id = register(client)
    body = orjson.dumps(survey_answer(customer_id))
    refused = client.post(
        "/feedback/surveys", content=body, headers={"Content-Type": "application/json"}
    )
    assert refused.status_code == 401 and refused.json()["type"] == "/problems/bad-signature"


def test_stated_concerns_update_the_profile_only_while_personalisation_is_granted(
    client: httpx.Client,
) -> None:
    customer_id = register(client)
    me = as_customer(customer_id)
    ok(send(client, f"/customers/{customer_id}/skin-profile", {"skin_type": "dry"}, me))
    concerns = survey_answer(
        customer_id, question_kind="choice", answer=["redness"], maps_to="skin_concerns"
    )

    without = ok(deliver(client, *signed(concerns)))
    assert without["profile"] == "unchanged-no-consent"
    profile = ok(get(client, f"/customers/{customer_id}", ADMIN))["skin_profile"]
    assert profile["concerns"] == []

    grant = {"purpose": "personalisation", "text_version": "2026-10"}
    ok(send(client, f"/customers/{customer_id}/consents/grant", grant, me))
    with_consent = ok(deliver(client, *signed({**concerns, "answer": ["pores", "redness"]})))
    assert with_consent["profile"] == "updated"
    recommender = ok(get(client, f"/customers/{customer_id}/recommender-input", me))
    assert recommender["skin_profile"]["concerns"] == ["pores", "redness"]
    assert recommender["skin_profile"]["skin_type"] == "dry"  # the rest of the profile stays

    preferences = {**concerns, "answer": ["vegan"], "maps_to": "preferences"}
    assert ok(deliver(client, *signed(preferences)))["profile"] == "updated"
    assert ok(get(client, f"/customers/{customer_id}", me))["preferences"] == {"vegan": True}


def test_an_anonymous_answer_is_only_counted_once_and_its_text_never_kept(
    ledger: RunningLedger, client: httpx.Client
) -> None:
    before = rows(ledger.store_url)
    choice = survey_answer(None, question_kind="choice", answer=["loved-it", "would-buy"])
    raw, headers = signed(choice)
    assert ok(deliver(client, raw, headers))["recorded"] == "counted"
    replay = deliver(client, raw, headers)
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
    ok(deliver(client, *signed(choice)))  # another delivery: counted
    ok(deliver(client, *signed(survey_answer(None))))  # a text: counted, never kept
    reused = deliver(client, orjson.dumps({**choice, "answer": ["meh"]}), headers)
    assert reused.status_code == 401  # the body no longer matches the signature
    re_signed = signed({**choice, "answer": ["meh"]}, webhook_id=headers["webhook-id"])
    conflict = deliver(client, *re_signed)
    assert conflict.status_code == 409, conflict.text  # the same id with another body

    with psycopg.connect(ledger.store_url) as conn:
        counts = conn.execute(
            "SELECT question_id, answer, answers FROM survey_answer_counts ORDER BY answer"
        ).fetchall()
    assert counts == [
        ("q-how-does-it-feel", "", 1),
        ("q-how-does-it-feel", "loved-it", 2),
        ("q-how-does-it-feel", "would-buy", 2),
    ]
    after = rows(ledger.store_url)
    assert after["customers_events"] == before["customers_events"]
    assert ANSWER_TEXT.encode() not in dump(ledger.store_url)
    assert b"anon-7f3a" not in dump(ledger.store_url)


def test_an_answer_for_an_unknown_or_forgotten_customer_is_refused_and_records_nothing(
    ledger: RunningLedger, client: httpx.Client
) -> None:
    unknown = deliver(client, *signed(survey_answer(str(uuid.uuid4()))))
    assert unknown.status_code == 404 and unknown.json()["type"] == "/problems/unknown-customer"
    customer_id = register(client)
    ok(send(client, f"/customers/{customer_id}/forget", {}, ADMIN))
    before = rows(ledger.store_url)
    forgotten = deliver(client, *signed(survey_answer(customer_id)))
    assert forgotten.status_code == 409
    assert forgotten.json()["type"] == "/problems/customer-forgotten"
    assert rows(ledger.store_url) == before


BAD_ANSWERS = {
    "scale out of range": ({"question_kind": "scale", "answer": 11}, "answer"),
    "choice as text": ({"question_kind": "choice", "answer": "loved it"}, "answer"),
    "choice not a code": ({"question_kind": "choice", "answer": ["loved it"]}, "answer"),
    "nobody": ({"customer_id": None}, "anonymous_id"),
    "no offset": ({"answered_at": "2026-01-01T10:00:00"}, "answered_at"),
    "unknown field": ({"email": "a@example.org"}, "email"),
    "unknown concern": (
        {"question_kind": "choice", "answer": ["glitter"], "maps_to": "skin_concerns"},
        "glitter",
    ),
    "answered long ago": (
        {"answered_at": (datetime.now(tz=UTC) - timedelta(days=40)).isoformat()},
        "answered_at",
    ),
}


@pytest.mark.parametrize("change,named", BAD_ANSWERS.values(), ids=BAD_ANSWERS.keys())
def test_a_bad_answer_is_a_422_naming_what_was_wrong_and_records_nothing(
    ledger: RunningLedger, client: httpx.Client, change: dict[str, Any], named: str
) -> None:
    customer_id = register(client)
    body = {k: v for k, v in {**survey_answer(customer_id), **change}.items() if v is not None}
    before = rows(ledger.store_url)
    refused = deliver(client, *signed(body))
    assert refused.status_code == 422, refused.text
    assert named in refused.json()["detail"]
    assert rows(ledger.store_url) == before


def contact(**changes: Any) -> dict[str, Any]:
    body = {
        "channel": "phone",
        "topic": "skin-reaction",
        "outcome": "follow-up",
        "agent": "agent-0042",
        "occurred_at": (datetime.now(tz=UTC) - timedelta(hours=2)).isoformat(),
        "notes": NOTES,
    }
    return {**body, **changes}


def test_the_support_log_is_recorded_read_as_allowed_exported_and_erased_by_forget(
    ledger: RunningLedger, client: httpx.Client
) -> None:
    customer_id = register(client)
    path = f"/customers/{customer_id}/support-contacts"
    made = send(client, path, contact(contact_id="ZD-1001"), BACKOFFICE, channel="backoffice")
    assert made.status_code == 201 and NOTES not in made.text
    in_store = contact(channel="store", notes="asked for samples")
    assert send(client, path, in_store, STAFF, channel="pos").status_code == 201
    by_phone = send(client, path, contact(), STAFF, channel="pos")
    assert by_phone.status_code == 403 and "store" in by_phone.json()["detail"]
    web = send(client, path, contact(), {"role": "channel", "channel": "web"})
    assert web.status_code == 403
    twice = send(client, path, contact(contact_id="ZD-1001"), ADMIN)
    assert twice.status_code == 409

    read = ok(get(client, path, ADMIN))["support_contacts"]
    assert [(c["contact_id"], c["channel"], c["notes"]) for c in read] == [
        ("ZD-1001", "phone", NOTES),
        (read[1]["contact_id"], "store", "asked for samples"),
    ]
    assert read[0]["agent"] == "agent-0042" and read[0]["outcome"] == "follow-up"
    for reader in (BACKOFFICE, STAFF, {"role": "auditor"}):
        redacted = ok(get(client, path, reader))["support_contacts"]
        assert {c["notes"] for c in redacted} == {"[redacted]"}
    auditor = ok(get(client, path, {"role": "auditor", "scope": "pii:read"}))
    assert {c["notes"] for c in auditor["support_contacts"]} == {NOTES, "asked for samples"}
    exported = ok(get(client, f"/customers/{customer_id}/export", as_customer(customer_id)))
    assert [c["notes"] for c in exported["support_contacts"]] == [NOTES, "asked for samples"]
    ok(deliver(client, *signed(survey_answer(customer_id))))
    with psycopg.connect(ledger.store_url) as conn:
        stored = conn.execute("SELECT response FROM glow_command_answers").fetchall()
    assert not [r for r in stored if NOTES.encode() in r[0] or ANSWER_TEXT.encode() in r[0]]

    ok(send(client, f"/customers/{customer_id}/forget", {}, ADMIN))

    erased = ok(get(client, path, ADMIN))
    assert erased["status"] == "forgotten"
    assert {c["notes"] for c in erased["support_contacts"]} == {"[erased]"}
    assert [c["topic"] for c in erased["support_contacts"]] == ["skin-reaction"] * 2
    after = ok(get(client, f"/customers/{customer_id}/export", ADMIN))
    assert {a["answer"] for a in after["survey_answers"]} == {"[erased]"}
    everything = dump(ledger.store_url)
    leaked = [s for s in (NOTES, "asked for samples", ANSWER_TEXT) if s.encode() in everything]
    assert leaked == []
    again = send(client, path, contact(), ADMIN)
    assert again.status_code == 409 and again.json()["type"] == "/problems/customer-forgotten"


BAD_CONTACTS = {
    "topic as a sentence": ({"topic": "she was upset"}, "topic"),
    "agent by name": ({"agent": "Marie Dupont"}, "agent"),
    "unknown channel": ({"channel": "fax"}, "channel"),
    "in the future": (
        {"occurred_at": (datetime.now(tz=UTC) + timedelta(hours=1)).isoformat()},
        "occurred_at",
    ),
    "too long ago": (
        {"occurred_at": (datetime.now(tz=UTC) - timedelta(days=100)).isoformat()},
        "occurred_at",
    ),
}


@pytest.mark.parametrize("change,named", BAD_CONTACTS.values(), ids=BAD_CONTACTS.keys())
def test_a_bad_support_contact_is_a_422_naming_the_field_and_records_nothing(
    ledger: RunningLedger, client: httpx.Client, change: dict[str, Any], named: str
) -> None:
    customer_id = register(client)
    before = rows(ledger.store_url)
    refused = send(client, f"/customers/{customer_id}/support-contacts", contact(**change), ADMIN)
    assert refused.status_code == 422, refused.text
    assert named in refused.text
    assert rows(ledger.store_url) == before


def test_one_delivery_sent_sixteen_times_at_once_is_recorded_once(
    ledger: RunningLedger, client: httpx.Client
) -> None:
    customer_id = register(client)
    for_customer = signed(survey_answer(customer_id, question_kind="scale", answer=7))
    anonymous = signed(survey_answer(None, question_kind="scale", answer=7))
    before = rows(ledger.store_url)

    def post(delivery: tuple[bytes, dict[str, str]]) -> httpx.Response:
        with httpx.Client(base_url=ledger.base_url, timeout=30) as own:
            return deliver(own, *delivery)

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(post, [for_customer, anonymous] * 8))

    assert {a.status_code for a in answers} == {200}, [a.text for a in answers]
    replayed = [a.headers.get("Idempotent-Replayed") == "true" for a in answers]
    assert replayed.count(False) == 2  # one first answer per delivery, the rest replays
    after = rows(ledger.store_url)
    assert after["customers_events"] == before["customers_events"] + 1
    assert after["survey_deliveries"] == before["survey_deliveries"] + 1
    with psycopg.connect(ledger.store_url) as conn:
        row = conn.execute("SELECT answers FROM survey_answer_counts WHERE answer = '7'").fetchone()
    assert row == (1,)
