"""GET /analytics/orders over HTTP: orders placed and moved through the API reach the facts
and the figures; analysts only; bad parameters are 422 problems naming the parameter."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from configuration.settings import Settings
from tests.e2e.ledger_server import auth_headers, headers, ok, serve, stocked_sku
from tests.integration.readside.test_read_side_end_to_end import caught_up

STORE = "PARIS"  # stocked_sku registers it as a store


@pytest.fixture
def client(tmp_path, analytics_url: str) -> Iterator[httpx.Client]:
    settings = Settings(
        event_store_url=f"sqlite:///{tmp_path / 'ledger.sqlite'}",
        hot_views_url="memory://",
        analytics_url=analytics_url,
    )
    with (
        serve(settings) as ledger,
        httpx.Client(headers=auth_headers(), base_url=ledger.base_url, timeout=30) as http,
    ):
        yield http


def place(client: httpx.Client, delivery: dict) -> str:
    body = {"lines": [{"sku": "SERUM-1", "quantity": 1}], "delivery": delivery}
    placed = ok(client.post("/orders", json=body, headers=headers()))
    return str(placed["order_id"])


def steps(client: httpx.Client, order_id: str, *names: str) -> None:
    for name in names:
        path = f"/orders/{order_id}/fulfilments/F1/steps"
        ok(client.post(path, json={"step": name}, headers=headers()))


def test_orders_through_the_api_are_counted_by_the_order_figures(client: httpx.Client) -> None:
    stocked_sku(client, "SERUM-1", STORE, {"B1": 10})
    shipped = place(client, {"method": "ship", "latitude": 48.85, "longitude": 2.35})
    steps(client, shipped, "picking", "packed", "shipped")
    no_show = place(client, {"method": "pickup", "store": STORE})
    steps(client, no_show, "picking", "packed", "ready-for-pickup", "not-collected")
    answer = caught_up(client, "/analytics/orders")
    assert answer["source"] == "projected" and answer["log"]["behind"] == 0
    today = datetime.now(tz=UTC).date().isoformat()
    by_key = {(r["day"], r["channel"]): r for r in answer["rows"]}
    assert list(by_key) == [(today, "web"), (None, "web"), (None, None)]
    everything = by_key[None, None]
    assert (everything["orders"], everything["settled_orders"]) == (2, 2)
    assert (everything["ship_from_store_share"], everything["no_show_rate"]) == (1.0, 1.0)
    assert (everything["units_ordered"], everything["units_filled"]) == (2, 1)
    assert everything["time_to_ship_p50_seconds"] >= 0
    only_app = ok(client.get("/analytics/orders", params={"channel": "app"}))["rows"]
    assert [(r["day"], r["channel"], r["orders"]) for r in only_app] == [(None, None, 0)]


@pytest.mark.parametrize(
    "params, parameter",
    [
        ({"from": "2026-02-01", "to": "2026-01-01"}, "from"),
        ({"from": "yesterday"}, "from"),
        ({"to": "2101-01-01"}, "to"),
        ({"channel": "fax"}, "channel"),
    ],
)
def test_bad_parameters_are_422_problems_naming_them(
    client: httpx.Client, params: dict[str, str], parameter: str
) -> None:
    response = client.get("/analytics/orders", params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["parameter"] == parameter and "expected" in problem["detail"]


def test_only_analysts_and_admins_read_the_order_figures(client: httpx.Client) -> None:
    assert client.get("/analytics/orders", headers=auth_headers("analyst")).status_code == 200
    for caller in (auth_headers("channel", channel="web"), auth_headers("auditor")):
        refused = client.get("/analytics/orders", headers=caller)
        assert refused.status_code == 403, refused.text
