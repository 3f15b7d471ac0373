"""A batch recall, on PostgreSQL over HTTP: the affected orders and customers per channel,
consent-aware (a customer who consented to be contacted is messaged; one who did not is
listed for the store where they bought), and `recall.notice` webhooks to the channels
concerned, naming customers by their pseudonymous ids only."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.ledger_server import RunningLedger, auth_headers, headers, ok, serve, stocked_sku
from tests.e2e.test_api_webhooks import hooked, subscribe
from tests.e2e.webhook_receiver import OK, always, receiving

SKU, STORE, BATCH = "CREAM-RC", "NANTES-RC", "RC-1"
HOME = {"method": "ship", "latitude": 47.21, "longitude": -1.55}
EMAILS = ("agathe.recall@example.org", "bruno.recall@example.org")


def register(client: httpx.Client, email: str, consent: str | None) -> str:
    body = {"name": "Recall Tester", "email": email}
    customer_id = str(ok(client.post("/customers", json=body, headers=headers()))["customer_id"])
    if consent is not None:
        grant = {"purpose": consent, "text_version": "2026-11"}
        path = f"/customers/{customer_id}/consents/grant"
        ok(client.post(path, json=grant, headers=headers()))
    return customer_id


@pytest.fixture
def recalled(
    postgres_store: str,
) -> Iterator[tuple[RunningLedger, httpx.Client, dict[str, Any]]]:
    with (
        serve(hooked(postgres_store)) as running,
        httpx.Client(headers=auth_headers(), base_url=running.base_url, timeout=30) as client,
        receiving(always(OK)) as web_hooks,
        receiving(always(OK)) as pos_hooks,
    ):
        stocked_sku(client, SKU, STORE, {BATCH: 20})
        subscribe(client, web_hooks.url, "recall.notice", channels=["web"])
        subscribe(client, pos_hooks.url, "recall.notice", channels=["pos"])
        consenting = register(client, EMAILS[0], "marketing_email")
        silent = register(client, EMAILS[1], None)
        order = {
            "lines": [{"sku": SKU, "quantity": 2}],
            "delivery": HOME,
            "customer_id": consenting,
        }
        placed = ok(client.post("/orders", json=order, headers=headers()))
        sale = {
            "lines": [{"sku": SKU, "location": STORE, "quantity": 1}],
            "customer_id": silent,
        }
        ok(client.post("/sales", json=sale, headers=headers(channel="pos")))
        anonymous = {"lines": [{"sku": SKU, "location": STORE, "quantity": 1}]}
        ok(client.post("/sales", json=anonymous, headers=headers(channel="pos")))
        recall = {"sku": SKU, "batch": BATCH, "reason": "SAFETY-2026-17"}
        ok(client.post("/batches/recall", json=recall, headers=headers()))
        notices = {
            "web": web_hooks.wait_for(1),
            "pos": pos_hooks.wait_for(1),
        }
        yield (
            running,
            client,
            {
                "consenting": consenting,
                "silent": silent,
                "order_id": placed["order_id"],
                "notices": notices,
            },
        )


@pytest.mark.postgres
def test_a_recall_lists_orders_and_customers_per_channel_by_their_consent(
    recalled: tuple[RunningLedger, httpx.Client, dict[str, Any]],
) -> None:
    _, client, seen = recalled
    notice = ok(client.get(f"/recalls/{SKU}/{BATCH}"))
    by_channel = {entry["channel"]: entry for entry in notice["channels"]}
    assert sorted(by_channel) == ["pos", "web"]
    web, pos = by_channel["web"], by_channel["pos"]
    assert [o["order_id"] for o in web["orders"]] == [seen["order_id"]]
    assert web["customers_to_message"] == [seen["consenting"]]
    assert web["customers_for_store"] == []
    assert pos["customers_to_message"] == []
    assert pos["customers_for_store"] == [{"customer_id": seen["silent"], "location": STORE}]


@pytest.mark.postgres
def test_recall_notices_go_to_each_affected_channel_with_pseudonymous_ids_only(
    recalled: tuple[RunningLedger, httpx.Client, dict[str, Any]],
) -> None:
    _, _, seen = recalled
    web = seen["notices"]["web"]
    pos = seen["notices"]["pos"]
    assert len(web) == len(pos) == 1
    web_data, pos_data = web[0].json["data"], pos[0].json["data"]
    assert web[0].json["type"] == pos[0].json["type"] == "recall.notice"
    assert (web_data["channel"], web_data["sku"], web_data["batch"]) == ("web", SKU, BATCH)
    assert web_data["customers_to_message"] == [seen["consenting"]]
    assert pos_data["customers_for_store"] == [{"customer_id": seen["silent"], "location": STORE}]
    for request in (*web, *pos):
        body = request.body.decode()
        assert all(email not in body for email in EMAILS)
        assert "Recall Tester" not in body


@pytest.mark.postgres
def test_a_customer_who_withdrew_consent_is_listed_for_the_store_not_messaged(
    recalled: tuple[RunningLedger, httpx.Client, dict[str, Any]],
) -> None:
    _, client, seen = recalled
    path = f"/customers/{seen['consenting']}/consents/withdraw"
    ok(client.post(path, json={"purpose": "marketing_email"}, headers=headers()))
    notice = ok(client.get(f"/recalls/{SKU}/{BATCH}"))
    web = next(entry for entry in notice["channels"] if entry["channel"] == "web")
    assert web["customers_to_message"] == []
    assert [c["customer_id"] for c in web["customers_for_store"]] == [seen["consenting"]]


@pytest.mark.postgres
def test_a_forgotten_customer_is_counted_never_named(
    recalled: tuple[RunningLedger, httpx.Client, dict[str, Any]],
) -> None:
    _, client, seen = recalled
    ok(client.post(f"/customers/{seen['silent']}/forget", json={}, headers=headers()))
    notice = ok(client.get(f"/recalls/{SKU}/{BATCH}"))
    pos = next(entry for entry in notice["channels"] if entry["channel"] == "pos")
    assert pos["customers_for_store"] == []
    assert pos["unreachable_customers"] == 1
    assert seen["silent"] not in str(notice)


@pytest.mark.postgres
def test_a_batch_never_held_has_no_one_to_tell_and_only_auditors_read_recalls(
    recalled: tuple[RunningLedger, httpx.Client, dict[str, Any]],
) -> None:
    _, client, _ = recalled
    assert ok(client.get(f"/recalls/{SKU}/NEVER-{uuid.uuid4().hex[:6]}"))["channels"] == []
    channel = auth_headers("channel", channel="web")
    assert client.get(f"/recalls/{SKU}/{BATCH}", headers=channel).status_code == 403
