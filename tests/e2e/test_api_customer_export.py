"""A customer's export finds their purchases and returns through the purchase index, on both
stores, reading only what was recorded since the last lookup; and expensive reads are bounded
per principal and in all: the excess is a 429 at once while sales go on."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from configuration.settings import Settings
from tests.e2e.ledger_server import RunningLedger, auth_headers, ok, serve, stocked_sku
from tests.e2e.test_api_customers import as_customer, get, register, send

POS = {"role": "store-staff", "channel": "pos", "location": "BREST-1"}
WEB = {"role": "channel", "channel": "web"}
LINE = {"sku": "BALM-X", "location": "BREST-1", "quantity": 1}


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> str:
    fixture = "sqlite_store" if request.param == "sqlite" else "postgres_store"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
def running(store: str) -> Iterator[RunningLedger]:
    with serve(Settings(event_store_url=store, hot_views_url=None)) as ledger:
        yield ledger


@pytest.fixture
def client(running: RunningLedger) -> Iterator[httpx.Client]:
    with httpx.Client(headers=auth_headers(), base_url=running.base_url, timeout=30) as http:
        stocked_sku(http, "BALM-X", "BREST-1", {"B1": 50})
        yield http


def buy(client: httpx.Client, customer_id: str | None, quantity: int = 1) -> None:
    sale = {"lines": [{**LINE, "quantity": quantity}], "customer_id": customer_id}
    ok(send(client, "/sales", {k: v for k, v in sale.items() if v}, POS, channel="pos"))


def reserve_and_confirm(client: httpx.Client, customer_id: str) -> str:
    held = ok(send(client, "/reservations", {"lines": [LINE], "customer_id": customer_id}, WEB))
    ok(send(client, f"/reservations/{held['reservation_id']}/confirm", {}, WEB))
    return str(held["reservation_id"])


def give_back(client: httpx.Client, customer_id: str) -> None:
    back = {"sku": "BALM-X", "location": "BREST-1", "batch": "B1", "quantity": 1}
    ok(send(client, "/returns", {**back, "customer_id": customer_id, "restock": True}, POS, "pos"))


def export(client: httpx.Client, customer_id: str) -> list[dict[str, Any]]:
    response = get(client, f"/customers/{customer_id}/export", as_customer(customer_id))
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["purchases_and_returns"]
    return found


def test_the_export_lists_exactly_the_customers_sales_reservations_and_returns(
    client: httpx.Client, running: RunningLedger
) -> None:
    mine, other = register(client), register_named(client, "O")
    buy(client, mine, 2)
    buy(client, other)
    buy(client, None)
    reservation = reserve_and_confirm(client, mine)
    reserve_and_confirm(client, other)
    give_back(client, mine)

    lines = export(client, mine)

    assert [(line["kind"], line["sku"], line["location"]) for line in lines] == [
        ("purchase", "BALM-X", "BREST-1"),
        ("purchase", "BALM-X", "BREST-1"),
        ("return", "BALM-X", "BREST-1"),
    ]
    assert lines[0]["allocations"] == {"B1": 2} and lines[1]["reservation_id"] == reservation
    assert lines[1]["channel"] == "web" and lines[2]["quantity"] == 1
    assert [line["kind"] for line in export(client, other)] == ["purchase", "purchase"]


def test_a_lookup_reads_only_what_was_recorded_since_the_last_one(
    client: httpx.Client, running: RunningLedger
) -> None:
    mine = register(client)
    buy(client, mine)
    export(client, mine)
    index = running.runtime.purchases
    assert index.catch_up() == 0  # the export left the index at the log's head
    buy(client, None)
    reserve_and_confirm(client, mine)
    assert index.catch_up() == 3  # a sale, a reservation's hold and its sale: nothing older
    assert len(export(client, mine)) == 2


@pytest.mark.slow  # over 15 s: CI's second pass (scripts/test -m slow)
@pytest.mark.parametrize("store", ["postgres"], indirect=True)
def test_exports_beyond_the_limits_are_429_at_once_while_sales_go_on(
    client: httpx.Client, running: RunningLedger
) -> None:
    settings = running.runtime.settings
    per_principal, total = settings.expensive_reads_per_principal, settings.expensive_reads_total
    customers = [register_named(client, f"C{n}") for n in range(3)]
    asks = [c for c in customers[:2] for _ in range(per_principal + 1)] + [customers[2]]
    held = running.runtime.purchases._catching_up  # exports wait here while the test holds it
    with ThreadPoolExecutor(len(asks)) as pool:
        held.acquire()
        try:
            futures = [pool.submit(_export_status, running, c) for c in asks]
            refused = [f.result(timeout=30) for f in futures if _done_soon(f)]
            sales = [_sale_status(client) for _ in range(10)]
        finally:
            held.release()
        statuses = [f.result(timeout=30) for f in futures]
    assert sorted(refused) == [429] * (len(asks) - total)
    assert statuses.count(200) == total and statuses.count(429) == len(asks) - total
    assert sales == [200] * 10
    assert per_principal * 2 == total  # the third customer was refused by the total alone


def register_named(client: httpx.Client, name: str) -> str:
    body = {"name": name, "email": f"{name.lower()}-{uuid.uuid4().hex[:8]}@example.org"}
    return str(ok(send(client, "/customers", body, WEB))["customer_id"])


def _export_status(running: RunningLedger, customer_id: str) -> int:
    with httpx.Client(base_url=running.base_url, timeout=30) as http:
        response = get(http, f"/customers/{customer_id}/export", as_customer(customer_id))
    if response.status_code == 429:
        assert response.headers["retry-after"] == "1"
        assert response.json()["type"] == "/problems/too-many-at-once"
    return response.status_code


def _done_soon(future: Any) -> bool:
    try:
        future.result(timeout=5)
    except TimeoutError:
        return False
    return True


def _sale_status(client: httpx.Client) -> int:
    headers = {"Idempotency-Key": str(uuid.uuid4()), "X-Channel": "web"}
    return client.post("/sales", json={"lines": [LINE]}, headers=headers).status_code
