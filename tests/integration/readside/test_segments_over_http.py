"""Segments through HTTP on PostgreSQL and chDB: customers registered, consenting and buying
through the API reach the customer dimension and the purchase facts; RFM answers the scores
computed here in Python; an audience is validated, versioned, reproducible as of a moment,
and exported only for customers whose consent to its purpose holds now; a forgotten customer
is in no audience; analysts see counts, never members."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from configuration.settings import Settings
from tests.e2e.conftest import scratch_database
from tests.e2e.ledger_server import auth_headers, eventually, ok, serve, stocked_sku

ANALYST = auth_headers("analyst")


@pytest.fixture
def client(analytics_url: str) -> Iterator[httpx.Client]:
    with scratch_database() as url:
        settings = Settings(
            event_store_url=url,
            hot_views_url="memory://",
            analytics_url=analytics_url,
            segments_refresh_seconds=0.2,
        )
        with (
            serve(settings) as ledger,
            httpx.Client(headers=auth_headers(), base_url=ledger.base_url, timeout=30) as http,
        ):
            yield http


def send(client: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    headers = {"Idempotency-Key": str(uuid.uuid4()), "X-Channel": "web"}
    return ok(client.post(path, json=body, headers=headers))


def customer(client: httpx.Client, n: int, *, consents: tuple[str, ...], skin: str) -> str:
    body = {"name": f"Person {n}", "email": f"person{n}@example.org"}
    customer_id = str(send(client, "/customers", body)["customer_id"])
    for purpose in consents:
        grant = {"purpose": purpose, "text_version": "2026-01"}
        send(client, f"/customers/{customer_id}/consents/grant", grant)
    send(client, f"/customers/{customer_id}/skin-profile", {"skin_type": skin})
    return customer_id


def buy(client: httpx.Client, customer_id: str, days_ago: int, quantity: int) -> None:
    at = (datetime.now(tz=UTC) - timedelta(days=days_ago)).isoformat()
    body = {
        "lines": [{"sku": "SERUM-1", "quantity": quantity}],
        "delivery": {"method": "pickup", "store": "PARIS"},
        "customer_id": customer_id,
        "occurred_at": at,
    }
    send(client, "/orders", body)


def rfm(client: httpx.Client) -> dict[str, Any]:
    return ok(client.get("/segments/rfm", params={"detail": "customers"}, headers=ANALYST))


def test_segments_and_audiences_through_the_api(client: httpx.Client) -> None:
    stocked_sku(client, "SERUM-1", "PARIS", {"B1": 500})  # 12.50 a unit
    everyone = ("analytics", "marketing_email")
    ann = customer(client, 1, consents=everyone, skin="dry")
    bob = customer(client, 2, consents=everyone, skin="oily")
    cat = customer(client, 3, consents=("analytics",), skin="dry")  # no marketing consent
    dan = customer(client, 4, consents=("marketing_email",), skin="dry")  # no analytics
    plan = {
        ann: [(90, 1), (60, 1), (30, 1)],
        bob: [(5, 4)],
        cat: [(200, 2), (10, 1)],
        dan: [(1, 9)],
    }
    for who, purchases in plan.items():
        for days_ago, quantity in purchases:
            buy(client, who, days_ago, quantity)

    # RFM: only the analytics-consenting customers, scored as computed here
    answer = eventually(lambda: rfm(client), lambda a: len(a["customers"]) == 3)
    got = {r["customer_id"]: (r["recency_score"], r["frequency_score"], r["monetary_score"])
           for r in answer["customers"]}  # fmt: skip
    stats = {who: (-min(d for d, _ in p), len(p), sum(q for _, q in p))
             for who, p in plan.items() if who != dan}  # fmt: skip
    expected = {
        who: tuple(1 + 5 * sum(v[i] < s[i] for v in stats.values()) // 3 for i in range(3))
        for who, s in stats.items()
    }
    assert got == expected and answer["source"] == "projected"
    summary = ok(client.get("/segments/rfm", headers=ANALYST))  # the default: no ids
    assert "customers" not in summary
    cells = {(c["recency_score"], c["frequency_score"], c["monetary_score"]): c["customers"]
             for c in summary["cells"]}  # fmt: skip
    assert cells == {score: list(got.values()).count(score) for score in set(got.values())}
    assert sum(s["customers"] for s in summary["segments"]) == 3

    # an audience: validated, versioned; counts for analysts, members for the back office
    bad = client.post("/segments/audiences", json={"name": "x", "purpose": "marketing_email",
                      "conditions": [{"trait": "shoe_size", "op": "=", "value": 3}]})  # fmt: skip
    assert bad.status_code == 422 and "unknown trait 'shoe_size'" in bad.json()["detail"]
    assert bad.headers["content-type"] == "application/problem+json"
    definition = {"name": "dry-buyers", "purpose": "marketing_email", "conditions": [
        {"trait": "skin_type", "op": "=", "value": "dry"},
        {"trait": "orders", "op": ">=", "value": 1}]}  # fmt: skip
    made = client.post("/segments/audiences", json=definition)
    assert made.status_code == 201 and made.json()["version"] == 1
    assert client.post("/segments/audiences", json=definition, headers=ANALYST).status_code == 403
    as_of = datetime.now(tz=UTC).isoformat()
    counted = ok(client.get("/segments/audiences/dry-buyers", params={"as_of": as_of},
                            headers=ANALYST))  # fmt: skip
    assert counted["computation"]["members"] == 2  # ann and cat; dan has no analytics consent
    members_path = "/segments/audiences/dry-buyers/members"
    assert client.get(members_path, headers=ANALYST).status_code == 403
    exported = ok(client.get(members_path, params={"as_of": as_of}))
    assert exported["members"] == [ann] and exported["left_out_without_consent"] == 1
    assert exported["computation"]["members_digest"] == counted["computation"]["members_digest"]

    # withdrawing marketing consent takes ann out of the export at once
    send(client, f"/customers/{ann}/consents/withdraw", {"purpose": "marketing_email"})
    assert ok(client.get(members_path, params={"as_of": as_of}))["members"] == []

    # forgotten: in no audience, even as of a moment when they were in it
    send(client, f"/customers/{cat}/forget", {})

    def count() -> int:
        found = ok(client.get("/segments/audiences/dry-buyers", params={"as_of": as_of}))
        return int(found["computation"]["members"])

    assert eventually(count, lambda n: n == 1)
    assert cat not in [r["customer_id"] for r in rfm(client)["customers"]]


@pytest.mark.parametrize(
    "path, params, parameter",
    [
        ("/segments/rfm", {"as_of": "2999-01-01"}, "as_of"),
        ("/segments/rfm", {"as_of": "yesterday"}, "as_of"),
        ("/segments/churn", {"k": "0.5"}, "k"),
        ("/segments/churn", {"min_orders": "1"}, "min_orders"),
    ],
)
def test_bad_segment_parameters_are_422_problems_naming_them(
    client: httpx.Client, path: str, params: dict[str, str], parameter: str
) -> None:
    response = client.get(path, params=params, headers=ANALYST)
    assert response.status_code == 422, response.text
    assert response.json()["parameter"] == parameter


def test_an_unknown_audience_is_a_404_problem(client: httpx.Client) -> None:
    response = client.get("/segments/audiences/nobody", headers=ANALYST)
    assert response.status_code == 404 and "no audience 'nobody'" in response.json()["detail"]
