"""Loyalty points over HTTP on PostgreSQL, with the follower running for real as a thread of
the server: an order delivered to a customer earns, a refunded return loses, reading the log
again earns nothing twice, a redemption beyond the balance is a 409 that records nothing,
expiry, a forgotten customer's order is recorded as refused while the follower goes on, and
redemptions racing for the same points never overdraw."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest

from configuration.settings import Settings
from tests.e2e.ledger_server import (
    EXPIRY_LATER,
    RunningLedger,
    auth_headers,
    eventually,
    headers,
    ok,
    receive,
    serve,
)

SERUM, WAREHOUSE = "SERUM-L", "WH-L"
HOME = {"method": "ship", "latitude": 52.37, "longitude": 4.89}


@pytest.fixture
def shop(postgres_store: str) -> Iterator[tuple[RunningLedger, httpx.Client]]:
    settings = Settings(
        event_store_url=postgres_store,
        loyalty=True,
        loyalty_expiry_days=30,
        loyalty_tiers="silver=50,gold=200,platinum=1000",
    )
    with (
        serve(settings) as running,
        httpx.Client(headers=auth_headers(), base_url=running.base_url, timeout=30) as client,
    ):
        product = {
            "product_code": "P-LOYAL",
            "name": "Loyal serum",
            "brand": "Glow",
            "category": "skincare",
            "variants": [{"sku": SERUM, "price": "30.00"}],
        }
        ok(client.post("/products", json=product, headers=headers()))
        place = {"code": WAREHOUSE, "name": "WH", "kind": "warehouse", "latitude": 52.0}
        ok(client.post("/locations", json={**place, "longitude": 5.0}, headers=headers()))
        receive(client, SERUM, WAREHOUSE, "B1", 40, EXPIRY_LATER)
        yield running, client


def register(client: httpx.Client) -> str:
    body = {"name": "Noor Vandersteen", "email": f"noor-{uuid.uuid4().hex[:8]}@example.org"}
    answer = ok(client.post("/customers", json=body, headers=headers()))
    return str(answer["customer_id"])


def act(client: httpx.Client, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    return ok(client.post(path, json=body or {}, headers=headers()))


def delivered_order(client: httpx.Client, customer_id: str, quantity: int) -> str:
    body = {
        "lines": [{"sku": SERUM, "quantity": quantity}],
        "delivery": HOME,
        "customer_id": customer_id,
    }
    placed = act(client, "/orders", body)
    (fulfilment,) = placed["fulfilments"]
    steps = f"/orders/{placed['order_id']}/fulfilments/{fulfilment['fulfilment_id']}/steps"
    for step in ("picking", "packed", "shipped", "delivered"):
        act(client, steps, {"step": step})
    return str(placed["order_id"])


def loyalty(client: httpx.Client, customer_id: str) -> dict[str, Any]:
    return ok(client.get(f"/customers/{customer_id}/loyalty"))


def points(client: httpx.Client, customer_id: str) -> int:
    return int(loyalty(client, customer_id)["points"])


def redeem(client: httpx.Client, customer_id: str, amount: int) -> httpx.Response:
    body = {"points": amount, "reference": f"checkout:{uuid.uuid4().hex[:8]}"}
    return client.post(f"/customers/{customer_id}/loyalty/redeem", json=body, headers=headers())


def follower_position(store_url: str) -> int:
    with psycopg.connect(store_url) as conn:
        row = conn.execute("SELECT position FROM loyalty_positions WHERE name = 'loyalty'")
        found = row.fetchone()
    return 0 if found is None else int(found[0])


def test_sales_earn_returns_lose_and_a_second_reading_earns_nothing_twice(
    shop: tuple[RunningLedger, httpx.Client],
) -> None:
    running, client = shop
    customer = register(client)
    order = delivered_order(client, customer, 2)  # 2 x 30.00 at 1 point per unit
    earned = eventually(lambda: loyalty(client, customer), lambda found: found["points"] == 60)
    assert earned["tier"] == "silver"
    (lot,) = earned["lots"]
    settled = datetime.now(tz=UTC).date()
    assert lot["reference"] == f"order:{order}" and lot["earned"] == 60
    assert date.fromisoformat(lot["expires_on"]) - settled in (timedelta(30), timedelta(29))
    assert [entry["event"] for entry in earned["history"]] == [
        "PointsEarned",
        "LoyaltyTierChanged",
    ]
    profile = ok(client.get(f"/customers/{customer}"))
    assert profile["loyalty"] == {"points": 60, "tier": "silver"}

    base = f"/orders/{order}"
    act(client, f"{base}/returns", {"lines": {"L1": 1}})
    act(client, f"{base}/returns/R1/receive", {"location": WAREHOUSE, "restocked": {"L1": 1}})
    act(client, f"{base}/returns/R1/refund", {"amount": "30.00"})
    after_return = eventually(lambda: loyalty(client, customer), lambda f: f["points"] == 30)
    assert after_return["history"][-1] == {
        "event": "LoyaltyTierChanged",
        "recorded_at": after_return["history"][-1]["recorded_at"],
        "tier": "member",
    }
    assert after_return["history"][-2]["event"] == "PointsLost"
    assert after_return["history"][-2]["reference"] == f"order:{order}/R1"

    # The follower reads the whole log again: every command is a replay, nothing moves.
    head = follower_position(running.store_url)
    with psycopg.connect(running.store_url, autocommit=True) as conn:
        conn.execute("UPDATE loyalty_positions SET position = 0 WHERE name = 'loyalty'")
    eventually(lambda: follower_position(running.store_url), lambda at: at >= head)
    again = loyalty(client, customer)
    assert again["points"] == 30 and again["version"] == after_return["version"]

    export = ok(client.get(f"/customers/{customer}/export"))
    assert export["loyalty"]["points"] == 30
    assert export["profile"]["loyalty"] == {"points": 30, "tier": "member"}


def test_redeeming_beyond_the_balance_is_refused_and_expiry_takes_what_is_left(
    shop: tuple[RunningLedger, httpx.Client],
) -> None:
    running, client = shop
    customer = register(client)
    delivered_order(client, customer, 1)
    eventually(lambda: points(client, customer), lambda found: found == 30)
    before = loyalty(client, customer)
    refused = redeem(client, customer, 31)
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["type"] == "/problems/insufficient-points"
    assert "has 30 point(s); 31 cannot be redeemed: expected at most 30" in problem["detail"]
    assert loyalty(client, customer)["version"] == before["version"]  # nothing recorded
    bad = client.post(
        f"/customers/{customer}/loyalty/redeem",
        json={"points": 0, "reference": "checkout:1"},
        headers=headers(),
    )
    assert bad.status_code == 422 and "points" in bad.text
    assert ok(redeem(client, customer, 10))["balance"] == 20

    service = running.runtime.loyalty
    assert service is not None
    assert service.follower.expire(date.today() + timedelta(days=40)) == 20
    expired = loyalty(client, customer)
    assert expired["points"] == 0 and expired["history"][-1]["event"] == "PointsExpired"
    assert service.follower.expire(date.today() + timedelta(days=40)) == 0  # once only


def test_a_forgotten_customer_earns_nothing_and_the_follower_goes_on(
    shop: tuple[RunningLedger, httpx.Client],
) -> None:
    running, client = shop
    gone, staying = register(client), register(client)
    act(client, f"/customers/{gone}/forget")
    refused_order = delivered_order(client, gone, 1)
    delivered_order(client, staying, 3)
    eventually(lambda: points(client, staying), lambda found: found == 90)
    with psycopg.connect(running.store_url) as conn:
        rows = conn.execute("SELECT order_id, code, event_type FROM loyalty_refusals").fetchall()
    assert rows == [(refused_order, "customer-forgotten", "Order.Delivered")]
    assert loyalty(client, gone)["points"] == 0
    assert expiry_rows(running.store_url, staying) == 1
    act(client, f"/customers/{staying}/forget")
    assert expiry_rows(running.store_url, staying) == 0  # nothing keeps naming them


def expiry_rows(store_url: str, customer_id: str) -> int:
    with psycopg.connect(store_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM loyalty_expiries WHERE customer_id = %s", (customer_id,)
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_redemptions_racing_for_the_same_points_never_overdraw(
    shop: tuple[RunningLedger, httpx.Client],
) -> None:
    _, client = shop
    customer = register(client)
    delivered_order(client, customer, 2)
    eventually(lambda: points(client, customer), lambda found: found == 60)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: redeem(client, customer, 20), range(8)))
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] * 3 + [409] * 5, [a.text for a in answers]
    final = loyalty(client, customer)
    assert final["points"] == 0 and final["redeemed"] == 60
    assert sum(1 for e in final["history"] if e["event"] == "PointsRedeemed") == 3
