"""What store staff may read: per-location stock of their own location only, totals over all
locations, and the reservations they may act on. Every GET route staff may call is walked with
another location named wherever a route takes one: no answer carries that location's figures
or batches."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.access_rules import ACCESS_RULES
from configuration.settings import Settings
from tests.e2e.ledger_server import (
    RunningLedger,
    auth_headers,
    define_sku,
    ok,
    post,
    receive,
    serve,
)

SKU, HERE, ELSEWHERE = "SKU-1", "SHOP-1", "SHOP-2"
SECRET_BATCH = "B-ELSEWHERE"  # a batch only the other location holds
STAFF = {"channel": "pos", "location": HERE}


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLedger]:
    store: Path = tmp_path_factory.mktemp("staff") / "ledger.sqlite"
    settings = Settings(event_store_url=f"sqlite:///{store}", hot_views_url="memory://")
    with serve(settings) as ledger:
        yield ledger


@pytest.fixture(scope="module")
def shop(running: RunningLedger) -> Iterator[dict[str, str]]:
    """Stock at both locations and a reservation at each, one spanning both, and an order
    collected at the other location."""
    with httpx.Client(base_url=running.base_url, headers=auth_headers(), timeout=30) as admin:
        define_sku(admin, SKU)
        for code, lat, lon in ((HERE, 10.0, 10.0), (ELSEWHERE, 48.8, 2.3)):
            body = {"code": code, "name": code, "kind": "store", "latitude": lat, "longitude": lon}
            ok(post(admin, "/locations", body))
        receive(admin, SKU, HERE, "B-HERE", 5, "2031-01-31")
        receive(admin, SKU, ELSEWHERE, SECRET_BATCH, 7, "2031-01-31")
        held = {
            name: ok(post(admin, "/reservations", {"lines": lines}))["reservation_id"]
            for name, lines in {
                "here": [_line(HERE)],
                "elsewhere": [_line(ELSEWHERE)],
                "both": [_line(HERE), _line(ELSEWHERE)],
            }.items()
        }
        held["preorder"] = _preorder_elsewhere(admin)
        pickup = {"method": "pickup", "store": ELSEWHERE}
        order = {"lines": [{"sku": SKU, "quantity": 1}], "delivery": pickup}
        held["order"] = ok(post(admin, "/orders", order))["order_id"]
        _caught_up(admin)
        yield held


def _preorder_elsewhere(admin: httpx.Client) -> str:
    expected = {"sku": SKU, "location": ELSEWHERE, "shipment_ref": "ASN-1", "quantity": 3}
    ok(post(admin, "/stock/expected-shipments", {**expected, "expected_on": _in_ten_days()}))
    ok(post(admin, f"/skus/{SKU}/preorders", {"channel": "web", "allowed": True}))
    return str(ok(post(admin, "/preorders", {**expected, "quantity": 1}))["preorder_id"])


def _in_ten_days() -> str:
    return (datetime.now(tz=UTC) + timedelta(days=10)).date().isoformat()


def _line(location: str) -> dict[str, Any]:
    return {"sku": SKU, "location": location, "quantity": 1}


def _caught_up(client: httpx.Client) -> None:
    deadline = time.monotonic() + 20
    while (
        client.get(f"/availability/{SKU}").json()["log"]["behind"] and time.monotonic() < deadline
    ):
        time.sleep(0.05)


@pytest.fixture
def staff(running: RunningLedger, shop: dict[str, str]) -> Iterator[httpx.Client]:
    headers = auth_headers("store-staff", **STAFF)
    with httpx.Client(base_url=running.base_url, headers=headers, timeout=30) as client:
        yield client


STAFF_READS = sorted(
    path for (method, path), rule in ACCESS_RULES.items()
    if method == "GET" and "store-staff" in rule.roles
)  # fmt: skip


@pytest.mark.parametrize("path", STAFF_READS)
def test_no_staff_answer_carries_another_locations_figures(
    staff: httpx.Client, shop: dict[str, str], path: str
) -> None:
    values = {
        "sku": SKU,
        "location": ELSEWHERE,
        "reservation_id": shop["elsewhere"],
        "preorder_id": shop["preorder"],
        "product_code": f"P-{SKU}",
        "customer_id": str(uuid.uuid4()),
        "channel": "web",
        "order_id": shop["order"],  # picked at the other location
        "fulfilment_id": "F1",
        "till": "TILL-ELSEWHERE",
        "journal_id": "J-1",
    }
    query = {"location": ELSEWHERE, "lat": "48.8", "lon": "2.3", "skus": SKU}
    for params in (query, {k: v for k, v in query.items() if k != "location"}):
        response = staff.get(path.format(**values), params=params)
        unconfigured = "/problems/recommendations-not-configured"  # this server has no model
        assert response.status_code < 500 or response.json()["type"] == unconfigured, response.text
        assert SECRET_BATCH not in response.text, (path, params)
        if response.status_code == 200:
            assert _figures_of(response.json(), ELSEWHERE) == [], (path, params)


def _figures_of(answer: Any, location: str) -> list[Any]:
    """Every part of the answer that gives a figure of the location (more than its name)."""
    if isinstance(answer, list):
        return [found for item in answer for found in _figures_of(item, location)]
    if not isinstance(answer, dict):
        return []
    inner = [found for value in answer.values() for found in _figures_of(value, location)]
    if answer.get("location") == location and set(answer) - {"sku", "location"}:
        return [answer, *inner]
    return inner


def test_staff_see_the_totals_over_all_locations_and_only_their_own_locations_figures(
    staff: httpx.Client,
) -> None:
    stock = staff.get(f"/skus/{SKU}/stock").json()
    assert stock["on_hand"] == 12 and [p["location"] for p in stock["locations"]] == [HERE]
    summed = staff.get(f"/availability/{SKU}").json()["availability"]
    assert summed["on_hand"] == 12 and [p["location"] for p in summed["locations"]] == [HERE]
    many = staff.get("/availability", params={"skus": SKU}).json()["skus"][0]
    assert [p["location"] for p in many["locations"]] == [HERE]
    own = staff.get(f"/availability/{SKU}", params={"location": HERE})
    assert own.status_code == 200 and own.json()["availability"]["on_hand"] == 5
    assert staff.get(f"/availability/{SKU}", params={"location": ELSEWHERE}).status_code == 403
    assert staff.get(f"/skus/{SKU}/stock/{ELSEWHERE}").status_code == 403


def test_staff_learn_where_the_nearest_stock_is_but_not_its_figures(
    staff: httpx.Client, running: RunningLedger
) -> None:
    asked = {"lat": "48.8", "lon": "2.3"}
    assert staff.get(f"/availability/{SKU}/nearest", params=asked).json()["nearest"] == {
        "sku": SKU,
        "location": ELSEWHERE,
    }
    with httpx.Client(base_url=running.base_url, headers=auth_headers(), timeout=30) as admin:
        full = admin.get(f"/availability/{SKU}/nearest", params=asked).json()["nearest"]
    assert full["location"] == ELSEWHERE and full["on_hand"] == 7


def test_staff_read_the_reservations_they_may_act_on_only(
    staff: httpx.Client, shop: dict[str, str]
) -> None:
    assert staff.get(f"/reservations/{shop['here']}").status_code == 200
    for other in (shop["elsewhere"], shop["both"]):
        refused = staff.get(f"/reservations/{other}")
        assert refused.status_code == 403 and ELSEWHERE in refused.json()["detail"]
