"""A web order for a store's last units placed while its till was offline, on PostgreSQL
through HTTP: after the till's journal is uploaded, the order ships from elsewhere (the
store's policy re-sources it) or its line is cancelled (the policy cancels the hold), each
told to the order's channel with the till line and the reason; the till's sale stands whole."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest

from tests.e2e.ledger_server import (
    RunningLedger,
    auth_headers,
    count_events,
    headers,
    ok,
)
from tests.e2e.test_api_tills import LIP, STORE, TILL, WAREHOUSE, seed

HOME = {"method": "ship", "latitude": 52.37, "longitude": 4.9}
POS = {"X-Channel": "pos", **auth_headers()}


@pytest.fixture
def client(ledger: RunningLedger) -> Iterator[httpx.Client]:
    with httpx.Client(headers=auth_headers(), base_url=ledger.base_url, timeout=60) as found:
        yield found


def offline_sale(
    client: httpx.Client, units: int, outcome: str = "applied"
) -> list[dict[str, Any]]:
    at = datetime.now(tz=UTC) - timedelta(minutes=40)
    line = {"seq": 1, "type": "sale", "occurred_at": at.isoformat()}
    body = orjson.dumps({**line, "lines": [{"sku": LIP, "quantity": units}]}) + b"\n"
    answer = client.post(
        f"/tills/{TILL}/journals",
        content=body,
        headers={**POS, "Journal-Id": "J-O", "Content-Type": "application/x-ndjson"},
    )
    assert answer.status_code == 200, answer.text
    lines = [orjson.loads(x) for x in answer.content.splitlines()][1:-1]
    assert [x["outcome"] for x in lines] == [outcome]
    if outcome == "applied":
        assert lines[0]["items"][0]["quantity"] == units  # the till's sale stands whole
    steps: list[dict[str, Any]] = lines[0].get("reconciliation", [])
    return steps


def held(client: httpx.Client, location: str) -> tuple[int, int]:
    found = ok(client.get(f"/skus/{LIP}/stock/{location}"))
    return found["on_hand"], found["reserved"]


def web_order(client: httpx.Client, units: int) -> dict[str, Any]:
    body = {"lines": [{"sku": LIP, "quantity": units}], "delivery": HOME}
    placed = ok(client.post("/orders", json=body, headers=headers()))
    assert [(f["location"], f["status"]) for f in placed["fulfilments"]] == [(STORE, "open")]
    return placed


def step(client: httpx.Client, order_id: str, fulfilment_id: str, name: str) -> None:
    path = f"/orders/{order_id}/fulfilments/{fulfilment_id}/steps"
    ok(client.post(path, json={"step": name}, headers=headers()))


def test_after_the_upload_the_order_ships_from_the_warehouse(
    client: httpx.Client, ledger: RunningLedger
) -> None:
    seed(client, 3, ("resource", "cancel_hold", "shortage"))
    order_id = web_order(client, 3)["order_id"]  # the store's last 3, the till offline
    steps = offline_sale(client, 2)
    assert [(s["action"], s["order_id"], s["to_location"], s["units"]) for s in steps] == [
        ("resourced", order_id, WAREHOUSE, 2)
    ]
    order = ok(client.get(f"/orders/{order_id}"))
    where = {f["fulfilment_id"]: (f["location"], f["status"]) for f in order["fulfilments"]}
    assert where == {"F1": (STORE, "open"), "F2": (WAREHOUSE, "open")}
    notice = order["till_reconciliation"][0]
    assert (notice["action"], notice["to"], notice["units"]) == ("resourced", ["F2"], 2)
    assert (notice["reason"], notice["till_line"]) == ("till-resourced", f"till:{TILL}#1")
    assert held(client, STORE) == (1, 1) and held(client, WAREHOUSE) == (2, 2)
    report = ok(client.get(f"/tills/{TILL}/journals/J-O/report"))
    assert [s["action"] for c in report["conflicts"] for s in c["steps"]] == ["resourced"]
    for name in ("picking", "packed", "shipped"):
        step(client, order_id, "F2", name)
    assert held(client, WAREHOUSE) == (0, 0)  # shipped from elsewhere: sold there
    history = ok(client.get(f"/audit/order/{order_id}/history"))["events"]
    assert "Order.FulfilmentResourced" in [e["type"] for e in history]
    events = count_events(ledger.store_url)
    assert offline_sale(client, 2, "already_recorded") == []  # a second upload: nothing new
    assert count_events(ledger.store_url) == events


def test_after_the_upload_the_order_line_is_cancelled_and_its_channel_reads_why(
    client: httpx.Client,
) -> None:
    seed(client, 3, ("cancel_hold", "shortage"))
    order_id = web_order(client, 3)["order_id"]
    steps = offline_sale(client, 2)
    assert [(s["action"], s["order_id"], s["lines"]) for s in steps] == [
        ("cancelled_hold", order_id, {"L1": 2})
    ]
    order = ok(client.get(f"/orders/{order_id}"))
    assert order["status"] == "sourced" and order["lines"][0]["cancelled"] == 2
    notice = order["till_reconciliation"][0]
    assert (notice["action"], notice["lines"], notice["reason"]) == (
        "lines_cancelled",
        {"L1": 2},
        "till-cancelled-hold",
    )
    assert held(client, STORE) == (1, 1) and held(client, WAREHOUSE) == (2, 0)
