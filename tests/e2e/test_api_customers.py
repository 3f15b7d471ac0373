"""Customers over HTTP on PostgreSQL: one customer across channels, consent obeyed at the next
request, a complete export, forget leaving no plaintext, and bad input recording nothing."""

from __future__ import annotations

import subprocess
import uuid
from typing import Any

import httpx
import psycopg
import pytest

from tests.e2e.ledger_server import RunningLedger, auth_headers, ok, stocked_sku

NAME, STREET, COMMENT = (
    "Ysolde Kerbrat-Quillivic",
    "9 impasse Pernelle-Oudot",
    "itchy-zq9 after use",
)
WEB = {"role": "channel", "channel": "web"}
POS = {"role": "store-staff", "channel": "pos", "location": "BREST-1"}
ADMIN = {"role": "admin"}


def send(
    client: httpx.Client, path: str, body: dict[str, Any], who: dict[str, Any], channel: str = "web"
) -> httpx.Response:
    claims = dict(who)
    role = claims.pop("role")
    headers = {"Idempotency-Key": str(uuid.uuid4()), "X-Channel": channel}
    return client.post(path, json=body, headers={**headers, **auth_headers(role, **claims)})


def as_customer(customer_id: str) -> dict[str, Any]:
    return {"role": "customer", "customer_id": customer_id, "channel": "web"}


def get(client: httpx.Client, path: str, who: dict[str, Any]) -> httpx.Response:
    claims = dict(who)
    return client.get(path, headers=auth_headers(claims.pop("role"), **claims))


def customer_events(store_url: str, customer_id: str | None = None) -> int:
    with psycopg.connect(store_url) as conn:
        if customer_id is None:
            row = conn.execute("SELECT count(*) FROM customers_events").fetchone()
        else:
            row = conn.execute(
                "SELECT count(*) FROM customers_events WHERE originator_id = %s", (customer_id,)
            ).fetchone()
    assert row is not None
    return int(row[0])


def register(client: httpx.Client) -> str:
    body = {
        "name": NAME,
        "email": "Ysolde.K+promo@Example.org",
        "date_of_birth": "1984-02-29",
        "address": {"line1": STREET, "city": "Brest", "postcode": "29200", "country": "FR"},
    }
    return str(ok(send(client, "/customers", body, WEB))["customer_id"])


@pytest.mark.postgres
def test_registering_on_web_and_at_a_till_with_one_email_gives_one_customer(
    client: httpx.Client,
) -> None:
    on_web = register(client)
    at_till = send(
        client,
        "/customers",
        {
            "name": "Y. Kerbrat",
            "email": "ysolde.k@example.org",
            "phone": "02 98 00 12 34",
            "verification": "loyalty-card",  # the till checked who she is
        },
        POS,
        channel="pos",
    )
    assert at_till.status_code == 200 and at_till.json() == {"customer_id": on_web, "matched": True}
    by_phone = send(client, "/customers", {"name": "Y", "phone": "+33 2 98 00 12 34"}, ADMIN)
    assert by_phone.json()["customer_id"] == on_web


@pytest.mark.postgres
def test_a_withdrawn_consent_takes_effect_at_the_next_request(client: httpx.Client) -> None:
    customer_id = register(client)
    me = as_customer(customer_id)
    grant = {"purpose": "personalisation", "text_version": "2026-10"}
    ok(send(client, f"/customers/{customer_id}/consents/grant", grant, me))
    assert get(client, f"/customers/{customer_id}/recommender-input", me).status_code == 200

    withdraw = {"purpose": "personalisation"}
    ok(send(client, f"/customers/{customer_id}/consents/withdraw", withdraw, me))
    refused = get(client, f"/customers/{customer_id}/recommender-input", me)
    assert refused.status_code == 409
    assert refused.json()["type"] == "/problems/consent-required"
    marketing = get(client, f"/customers/{customer_id}/marketing-contact", {"role": "admin"})
    assert marketing.status_code == 409


@pytest.mark.postgres
def test_the_export_holds_every_event_consents_and_purchases(
    ledger: RunningLedger, client: httpx.Client
) -> None:
    customer_id = register(client)
    me = as_customer(customer_id)
    ok(send(client, f"/customers/{customer_id}/skin-profile", {"skin_type": "dry"}, me))
    grant = {"purpose": "marketing_email", "text_version": "v1"}
    ok(send(client, f"/customers/{customer_id}/consents/grant", grant, me))
    ok(
        send(
            client, f"/customers/{customer_id}/consents/withdraw", {"purpose": grant["purpose"]}, me
        )
    )
    stocked_sku(client, "BALM-X", "BREST-1", {"B1": 5})
    sale = {"lines": [{"sku": "BALM-X", "location": "BREST-1", "quantity": 2}]}
    ok(send(client, "/sales", {**sale, "customer_id": customer_id}, POS, channel="pos"))
    ok(send(client, "/sales", sale, POS, channel="pos"))  # someone else's

    export = get(client, f"/customers/{customer_id}/export", me)

    assert export.status_code == 200, export.text
    body = export.json()
    assert len(body["events"]) == customer_events(ledger.store_url, customer_id)
    assert body["profile"]["contact"]["name"] == NAME
    assert [c["granted"] for c in body["consent_history"]] == [True, False]
    purchases = body["purchases_and_returns"]
    assert [(p["kind"], p["sku"], p["allocations"]) for p in purchases] == [
        ("purchase", "BALM-X", {"B1": 2})
    ]
    assert any(a["action"] == "export" for a in body["accesses"])


@pytest.mark.postgres
def test_after_forget_the_api_shows_erased_fields_and_the_dump_holds_no_plaintext(
    ledger: RunningLedger, client: httpx.Client
) -> None:
    customer_id = register(client)
    me = as_customer(customer_id)
    ok(
        send(
            client,
            f"/customers/{customer_id}/feedback",
            {"sku": "BALM-X", "rating": 1, "comment": COMMENT},
            me,
        )
    )

    ok(send(client, f"/customers/{customer_id}/forget", {}, me))

    profile = get(client, f"/customers/{customer_id}", {"role": "admin"}).json()
    assert profile["status"] == "forgotten"
    assert profile["contact"]["name"] == "[erased]" and profile["feedback"][0]["comment"] is None
    dump = subprocess.run(
        ["pg_dump", "--data-only", "--inserts", ledger.store_url], check=True, capture_output=True
    ).stdout
    leaked = [
        p for p in (NAME, STREET, COMMENT, "ysolde.k@example.org", "Ysolde") if p.encode() in dump
    ]
    assert leaked == []
    again = send(
        client, f"/customers/{customer_id}/skin-profile", {"skin_type": "oily"}, {"role": "admin"}
    )
    assert again.status_code == 409 and again.json()["type"] == "/problems/customer-forgotten"


BAD_CUSTOMER_BODIES = {
    "invalid email": ({"name": "A", "email": "not-an-email"}, "invalid-contact"),
    "invalid phone": ({"name": "A", "phone": "12345"}, "invalid-contact"),
    "invalid date": (
        {"name": "A", "email": "a@example.com", "date_of_birth": "1990-02-30"},
        "invalid-request",
    ),
    "future date": (
        {"name": "A", "email": "a@example.com", "date_of_birth": "2999-01-01"},
        "invalid-command",
    ),
    "no identity": ({"name": "A"}, "invalid-command"),
}


@pytest.mark.postgres
@pytest.mark.parametrize("body,code", BAD_CUSTOMER_BODIES.values(), ids=BAD_CUSTOMER_BODIES.keys())
def test_a_bad_registration_is_refused_and_records_nothing(
    ledger: RunningLedger, client: httpx.Client, body: dict[str, Any], code: str
) -> None:
    response = send(client, "/customers", body, WEB)
    assert response.status_code == 422, response.text
    assert response.json()["type"] == f"/problems/{code}"
    assert customer_events(ledger.store_url) == 0


@pytest.mark.postgres
@pytest.mark.parametrize(
    "path,body",
    [
        ("skin-profile", {"skin_type": "scaly"}),
        ("skin-profile", {"allergies": ["limonene; drop table"]}),
        ("consents/grant", {"purpose": "telepathy", "text_version": "v1"}),
        ("consents/withdraw", {"purpose": "telepathy"}),
    ],
)
def test_unknown_skin_facts_and_consent_purposes_are_refused_and_record_nothing(
    ledger: RunningLedger, client: httpx.Client, path: str, body: dict[str, Any]
) -> None:
    customer_id = register(client)
    before = customer_events(ledger.store_url)
    response = send(client, f"/customers/{customer_id}/{path}", body, as_customer(customer_id))
    assert response.status_code == 422, response.text
    assert customer_events(ledger.store_url) == before


@pytest.mark.postgres
def test_a_likely_duplicate_is_proposed_not_merged_until_a_person_merges_it(
    client: httpx.Client,
) -> None:
    admin = {"role": "admin"}
    first = register(client)
    body = {
        "name": "Kerbrat-Quillivic, Ysolde",
        "email": "ysolde.other@example.net",
        "date_of_birth": "1984-02-29",
        "address": {"postcode": "29 200"},
    }
    second = str(ok(send(client, "/customers", body, WEB))["customer_id"])

    proposals = get(client, f"/customers/{second}/match-proposals", admin).json()["proposals"]
    assert [p["customer_id"] for p in proposals] == [first] and proposals[0]["score"] >= 0.75
    assert get(client, f"/customers/{first}", admin).json()["merged_from"] == []

    ok(send(client, "/customers/merges", {"source_id": second, "target_id": first}, admin))
    survivor = get(client, f"/customers/{second}", admin).json()  # the old id redirects
    assert survivor["customer_id"] == first and survivor["merged_from"] == [second]


def test_a_recall_names_the_customers_to_notify_and_respects_forgetting(
    client: httpx.Client,
) -> None:
    kept = str(
        ok(send(client, "/customers", {"name": "Kept", "email": "kept@example.org"}, WEB))[
            "customer_id"
        ]
    )
    gone = str(
        ok(send(client, "/customers", {"name": "Gone", "email": "gone@example.org"}, WEB))[
            "customer_id"
        ]
    )
    stocked_sku(client, "TONIC-R", "BREST-1", {"R1": 6})
    line = {"sku": "TONIC-R", "location": "BREST-1", "quantity": 1}
    placed = ok(send(client, "/reservations", {"lines": [line], "customer_id": kept}, WEB))
    ok(send(client, f"/reservations/{placed['reservation_id']}/confirm", {}, WEB))
    ok(send(client, "/sales", {"lines": [line], "customer_id": gone}, POS, channel="pos"))
    ok(send(client, "/sales", {"lines": [line]}, POS, channel="pos"))  # an anonymous till sale
    ok(send(client, f"/customers/{gone}/forget", {}, as_customer(gone)))
    recall = {"sku": "TONIC-R", "batch": "R1", "reason": "contamination"}
    ok(send(client, "/batches/recall", recall, {"role": "admin"}, channel="backoffice"))

    trace = get(client, "/audit/batches/TONIC-R/R1/trace", {"role": "auditor"})

    assert trace.status_code == 200, trace.text
    notices = {n["customer_id"]: n for n in trace.json()["customers_to_notify"]}
    assert set(notices) == {kept, gone}
    assert notices[kept]["notify"] is True
    assert notices[kept]["reachable_by"] == ["email"]
    assert notices[gone] == {
        "customer_id": gone,
        "status": "forgotten",
        "notify": False,
        "reachable_by": [],
    }
    assert "kept@example.org" not in trace.text
    assert len(trace.json()["sales"]) == 3
