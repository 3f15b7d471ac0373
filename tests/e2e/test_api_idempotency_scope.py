"""Idempotency keys belong to the caller that sent them (subject and channel), as Stripe
scopes them per account (finding 6): another caller's identical key neither replays the first
answer, nor blocks the caller, nor tells whether the key was used. On both stores."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from configuration.settings import Settings
from tests.e2e.conftest import scratch_database
from tests.e2e.ledger_server import (
    RunningLedger,
    auth_headers,
    caller_headers,
    count_answers,
    serve,
    stocked_sku,
)

SKU, SHOP = "MIST-KEYS", "KEYS-1"
SALE = {"lines": [{"sku": SKU, "location": SHOP, "quantity": 1}]}


@pytest.fixture(params=["postgres", "sqlite"])
def shop(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[RunningLedger]:
    if request.param == "postgres":
        with scratch_database() as url, serve(Settings(event_store_url=url)) as running:
            yield running
    else:
        url = f"sqlite:///{tmp_path}/ledger.sqlite"
        with serve(Settings(event_store_url=url)) as running:
            yield running


@pytest.fixture
def http(shop: RunningLedger) -> Iterator[httpx.Client]:
    with httpx.Client(headers=auth_headers(), base_url=shop.base_url, timeout=30) as admin:
        stocked_sku(admin, SKU, SHOP, {"B1": 50})
    with httpx.Client(base_url=shop.base_url, timeout=30) as client:
        yield client


def _sell(http: httpx.Client, key: str, channel: str, subject: str) -> httpx.Response:
    return http.post("/sales", json=SALE, headers=caller_headers("channel", channel, key, subject))


def _on_hand(http: httpx.Client) -> int:
    stock = http.get(f"/skus/{SKU}/stock/{SHOP}", headers=auth_headers()).json()
    return int(stock["on_hand"])


def test_another_channels_key_is_not_replayed_to_it(
    shop: RunningLedger, http: httpx.Client
) -> None:
    key = str(uuid.uuid4())
    answers = count_answers(shop.store_url)
    first = _sell(http, key, "web", "web-shop")
    assert first.status_code == 200 and "Idempotent-Replayed" not in first.headers
    squatter = _sell(http, key, "pos", "till-7")
    assert squatter.status_code == 200, squatter.text
    assert "Idempotent-Replayed" not in squatter.headers
    assert squatter.json()["sale_id"] != first.json()["sale_id"]
    assert _on_hand(http) == 48
    assert count_answers(shop.store_url) == answers + 2


def test_another_subject_on_the_same_channel_has_keys_of_its_own(http: httpx.Client) -> None:
    key = str(uuid.uuid4())
    assert _sell(http, key, "web", "partner-a").status_code == 200
    other = http.post(
        "/sales",
        json={"lines": [{**SALE["lines"][0], "quantity": 2}]},
        headers=caller_headers("channel", "web", key, "partner-b"),
    )
    assert other.status_code == 200, other.text  # not 409: partner-a's key blocks nobody else
    assert "Idempotent-Replayed" not in other.headers


def test_the_caller_that_sent_a_key_still_gets_its_answer_replayed(http: httpx.Client) -> None:
    key = str(uuid.uuid4())
    first = _sell(http, key, "web", "web-shop")
    again = _sell(http, key, "web", "web-shop")
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    changed = http.post(
        "/sales",
        json={"lines": [{**SALE["lines"][0], "quantity": 3}]},
        headers=caller_headers("channel", "web", key, "web-shop"),
    )
    assert changed.status_code == 409
    assert key in changed.json()["detail"] and "\x1f" not in changed.json()["detail"]
    assert _on_hand(http) == 49


def test_customer_commands_scope_their_keys_too(http: httpx.Client) -> None:
    key = str(uuid.uuid4())
    body = {"name": "Demo Customer", "email": f"{key}@example.org"}
    first = http.post("/customers", json=body, headers=caller_headers("channel", "web", key, "a"))
    other = http.post("/customers", json=body, headers=caller_headers("channel", "app", key, "b"))
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in other.headers  # not another caller's answer
    again = http.post("/customers", json=body, headers=caller_headers("channel", "web", key, "a"))
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
