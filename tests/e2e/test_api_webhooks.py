"""Outbound webhooks over HTTP on PostgreSQL, to a real receiver: every delivery arrives once
after dedupe, in order per aggregate, signed (Standard Webhooks); failures retry, then
dead-letter, and a replay sends them again; a subscriber that hangs never holds up a command."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from configuration.settings import Settings
from tests.e2e.ledger_server import (
    TEST_MASTER_KEY,
    RunningLedger,
    auth_headers,
    headers,
    ok,
    serve,
    stocked_sku,
)
from tests.e2e.webhook_receiver import FAIL, HANG, OK, always, receiving

SKU, STORE = "LIP-WH", "PARIS-WH"
HOME = {"method": "ship", "latitude": 48.85, "longitude": 2.35}
STEPS = ("picking", "packed", "shipped")


def hooked(url: str, **more: Any) -> Settings:
    """A ledger that delivers webhooks in a thread, with short timeouts and backoffs."""
    values: dict[str, Any] = {
        "event_store_url": url,
        "webhooks": True,
        "webhook_private_hosts": True,  # the receivers listen on 127.0.0.1
        "webhook_timeout_seconds": 0.5,
        "webhook_backoff_seconds": 0.05,
        "webhook_backoff_cap_seconds": 0.2,
        "webhook_max_attempts": 40,
        **more,
    }
    return Settings(**values)


@pytest.fixture
def shop(postgres_store: str) -> Iterator[tuple[RunningLedger, httpx.Client]]:
    with (
        serve(hooked(postgres_store)) as running,
        httpx.Client(headers=auth_headers(), base_url=running.base_url, timeout=30) as client,
    ):
        stocked_sku(client, SKU, STORE, {"B1": 500})
        yield running, client


def subscribe(client: httpx.Client, url: str, *types: str, **more: Any) -> dict[str, Any]:
    response = client.post(
        "/webhooks/subscriptions", json={"url": url, "event_types": list(types), **more}
    )
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


def place_and_ship(client: httpx.Client) -> str:
    body = {"lines": [{"sku": SKU, "quantity": 1}], "delivery": HOME}
    placed = ok(client.post("/orders", json=body, headers=headers()))
    fulfilment = placed["fulfilments"][0]["fulfilment_id"]
    for step in STEPS:
        path = f"/orders/{placed['order_id']}/fulfilments/{fulfilment}/steps"
        ok(client.post(path, json={"step": step}, headers=headers()))
    return str(placed["order_id"])


def flaky(n: int) -> str:
    """Fails three times, hangs past the timeout twice, then fails one call in five."""
    if n < 3:
        return FAIL
    if n < 5:
        return HANG
    return FAIL if n % 5 == 0 else OK


@pytest.mark.postgres
def test_a_receiver_that_fails_times_out_and_recovers_gets_every_delivery_once_in_order(
    shop: tuple[RunningLedger, httpx.Client],
) -> None:
    _, client = shop
    with receiving(flaky, hang_seconds=1.0) as receiver:
        made = subscribe(client, receiver.url, "order.status_changed")
        orders = [place_and_ship(client) for _ in range(5)]
        kept = receiver.wait_for(len(orders) * (2 + len(STEPS)))
        time.sleep(0.5)  # nothing more is coming
    assert len(receiver.accepted()) == len(kept) == 25
    signer = Webhook(made["secret"])
    versions: dict[str, list[int]] = defaultdict(list)
    for request in kept:
        data = signer.verify(request.body, request.headers)["data"]
        versions[data["order_id"]].append(data["version"])
    assert sorted(versions) == sorted(orders)
    assert all(found == [1, 2, 3, 4, 5] for found in versions.values())
    tried: dict[str, list[int]] = defaultdict(list)
    for request in receiver.requests:  # failed and timed-out tries too: never out of order
        data = request.json["data"]
        tried[data["order_id"]].append(data["version"])
    assert all(found == sorted(found) for found in tried.values())
    assert len(receiver.requests) > len(kept)  # some were retried


@pytest.mark.postgres
def test_a_tampered_body_or_signature_is_detected_by_the_receiver(
    shop: tuple[RunningLedger, httpx.Client],
) -> None:
    _, client = shop
    with receiving(always(OK)) as receiver:
        made = subscribe(client, receiver.url, "order.status_changed")
        place_and_ship(client)
        request = receiver.wait_for(1)[0]
    signer = Webhook(made["secret"])
    assert signer.verify(request.body, request.headers)["type"] == "order.status_changed"
    with pytest.raises(WebhookVerificationError):
        signer.verify(request.body.replace(b"placed", b"cancelled"), request.headers)
    forged = {
        **request.headers,
        "webhook-signature": "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    }
    with pytest.raises(WebhookVerificationError):
        signer.verify(request.body, forged)
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 43 + "=").verify(request.body, request.headers)


@pytest.mark.postgres
def test_deliveries_dead_letter_after_their_attempts_and_a_replay_delivers_them(
    postgres_store: str,
) -> None:
    down = {"yes": True}
    with (
        serve(hooked(postgres_store, webhook_max_attempts=3)) as running,
        httpx.Client(headers=auth_headers(), base_url=running.base_url, timeout=30) as client,
        receiving(lambda _: FAIL if down["yes"] else OK) as receiver,
    ):
        stocked_sku(client, SKU, STORE, {"B1": 50})
        made = subscribe(client, receiver.url, "order.status_changed")
        place_and_ship(client)
        letters = _wait_for_dead_letters(client, 5)
        assert {letter["attempts"] for letter in letters} == {3}
        assert all(letter["last_error"] == "HTTP 500" for letter in letters)
        assert receiver.accepted() == []
        down["yes"] = False
        replay = {"subscription_id": made["subscription_id"]}
        assert ok(client.post("/webhooks/dead-letters/replay", json=replay))["replayed"] == 5
        kept = receiver.wait_for(5)
        assert [r.json["data"]["version"] for r in kept] == [1, 2, 3, 4, 5]
        assert {r.message_id for r in kept} == {letter["message_id"] for letter in letters}
        assert ok(client.get("/webhooks/dead-letters"))["dead_letters"] == []


def _wait_for_dead_letters(client: httpx.Client, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found: list[dict[str, Any]] = ok(client.get("/webhooks/dead-letters"))["dead_letters"]
        if len(found) >= count:
            return found
        time.sleep(0.1)
    raise AssertionError(f"fewer than {count} dead letters after 30 s")


@pytest.mark.postgres
def test_commands_complete_while_the_subscriber_hangs(
    shop: tuple[RunningLedger, httpx.Client],
) -> None:
    _, client = shop
    unhooked = []
    for _ in range(10):  # nobody subscribed yet
        began = time.perf_counter()
        place_and_ship(client)
        unhooked.append(time.perf_counter() - began)
    with receiving(always(HANG), hang_seconds=3.0) as receiver:
        subscribe(client, receiver.url, "order.status_changed", "stock.low")
        started = time.monotonic()
        while receiver.hanging == 0 and time.monotonic() - started < 10:
            place_and_ship(client)
        assert receiver.hanging > 0  # the subscriber holds calls open...
        latencies = []
        for _ in range(10):  # ...and commands go on, answered from the writer alone
            began = time.perf_counter()
            place_and_ship(client)
            latencies.append(time.perf_counter() - began)
        assert receiver.hanging > 0 or len(receiver.requests) > 1
    assert len(latencies) == 10
    print(
        f"order placed and shipped, p50: {sorted(unhooked)[5] * 1000:.1f} ms without a "
        f"subscriber, {sorted(latencies)[5] * 1000:.1f} ms while one hangs"
    )


@pytest.mark.postgres
def test_the_secret_is_shown_once_and_stored_sealed(
    shop: tuple[RunningLedger, httpx.Client],
) -> None:
    running, client = shop
    made = subscribe(client, "https://erp.example.com/hooks", "recall.notice", channels=["web"])
    assert made["secret"].startswith("whsec_")
    listed = ok(client.get("/webhooks/subscriptions"))["subscriptions"]
    assert [s["subscription_id"] for s in listed] == [made["subscription_id"]]
    assert "secret" not in listed[0]
    assert listed[0]["channels"] == ["web"]
    with psycopg.connect(running.store_url) as conn:
        rows = conn.execute("SELECT * FROM webhook_subscriptions").fetchall()
    secret = made["secret"].removeprefix("whsec_")
    dumped = repr(rows).encode()
    assert secret.encode() not in dumped and secret[:16].encode() not in dumped
    assert b"whsec_" not in b"".join(bytes(r[-3]) for r in rows if isinstance(r[-3], bytes))


@pytest.mark.postgres
def test_removing_a_subscription_stops_its_deliveries(
    shop: tuple[RunningLedger, httpx.Client],
) -> None:
    _, client = shop
    with receiving(always(OK)) as receiver:
        made = subscribe(client, receiver.url, "order.status_changed")
        place_and_ship(client)
        receiver.wait_for(5)
        removal = f"/webhooks/subscriptions/{made['subscription_id']}/remove"
        assert ok(client.post(removal, json={}))["removed"] is True
        place_and_ship(client)
        time.sleep(1.0)
        assert len(receiver.accepted()) == 5
        assert client.post(removal, json={}).status_code == 404


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.com/x", "event_types": ["stock.low"]}, "URL"),
        ({"url": "https://example.com/x", "event_types": ["order.shipped"]}, "event type"),
        ({"url": "https://example.com/x", "event_types": []}, "event_types"),
        ({"url": "https://u:p@example.com/x", "event_types": ["stock.low"]}, "credentials"),
        (
            {"url": "https://example.com/x", "event_types": ["stock.low"], "channels": ["tv"]},
            "channel",
        ),
        ({"url": "https://example.com/x", "event_types": ["stock.low"], "secret": "x"}, "secret"),
        ({"url": "http://169.254.169.254/latest/", "event_types": ["stock.low"]}, "link-local"),
        ({"url": "http://[::ffff:169.254.169.254]/", "event_types": ["stock.low"]}, "link-local"),
        ({"url": "http://0.0.0.0:8080/x", "event_types": ["stock.low"]}, "unspecified"),
    ],
)
def test_a_bad_subscription_is_refused_with_a_problem_that_says_why(
    shop: tuple[RunningLedger, httpx.Client], body: dict[str, Any], field: str
) -> None:
    _, client = shop
    response = client.post("/webhooks/subscriptions", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in response.text
    assert ok(client.get("/webhooks/subscriptions"))["subscriptions"] == []


@pytest.mark.postgres
def test_only_the_back_office_manages_webhooks(shop: tuple[RunningLedger, httpx.Client]) -> None:
    _, client = shop
    channel = auth_headers("channel", channel="web")
    body = {"url": "https://example.com/x", "event_types": ["stock.low"]}
    assert client.post("/webhooks/subscriptions", json=body, headers=channel).status_code == 403
    assert client.get("/webhooks/subscriptions", headers=channel).status_code == 403
    assert client.post("/webhooks/dead-letters/replay", json={}, headers=channel).status_code == 403


@pytest.mark.postgres
def test_glow_webhooks_lists_dead_letters_and_replays_them(
    postgres_store: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from cli.main import main

    monkeypatch.setenv("GLOW_MASTER_KEY", TEST_MASTER_KEY)
    down = {"yes": True}
    with (
        serve(hooked(postgres_store, webhook_max_attempts=2)) as running,
        httpx.Client(headers=auth_headers(), base_url=running.base_url, timeout=30) as client,
        receiving(lambda _: FAIL if down["yes"] else OK) as receiver,
    ):
        stocked_sku(client, SKU, STORE, {"B1": 50})
        made = subscribe(client, receiver.url, "order.status_changed")
        place_and_ship(client)
        letters = _wait_for_dead_letters(client, 5)
        capsys.readouterr()
        assert main(["--store", postgres_store, "webhooks", "dead-letters"]) == 0
        listed = capsys.readouterr().out
        assert all(letter["message_id"] in listed for letter in letters)
        down["yes"] = False
        one = letters[0]["message_id"]
        replay = ["--store", postgres_store, "webhooks", "replay", "--message", one]
        assert main(replay) == 0
        assert [r.message_id for r in receiver.wait_for(1)] == [one]
        everything = ["webhooks", "replay", "--subscription", made["subscription_id"]]
        assert main(["--store", postgres_store, *everything]) == 0
        assert len(receiver.wait_for(5)) == 5
        assert main(["--store", postgres_store, *everything]) == 1  # nothing left to replay
