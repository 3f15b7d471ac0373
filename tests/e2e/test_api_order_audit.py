"""Auditors read an order's and a pre-order's whole history, and their state as of an instant,
through the audit endpoints; other roles may not."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx

from tests.e2e.ledger_server import RunningLedger, auth_headers, ok
from tests.e2e.test_api_orders import SERUM, act, order, shop  # noqa: F401 (the fixture)
from tests.e2e.test_api_preorders import SHIPMENT, SKU, _preorder, _receipt, _shop

AUDITOR = auth_headers("auditor")


def test_an_orders_history_names_every_step_and_its_state_as_of_before_shipping(
    shop: httpx.Client,  # noqa: F811
) -> None:
    placed = ok(order(shop, (SERUM, 2)))
    base = f"/orders/{placed['order_id']}"
    (fulfilment,) = placed["fulfilments"]
    steps = f"{base}/fulfilments/{fulfilment['fulfilment_id']}/steps"
    for step in ("picking", "packed"):
        ok(act(shop, steps, {"step": step}))
    time.sleep(0.01)
    before_shipping = datetime.now(tz=UTC)
    time.sleep(0.01)
    ok(act(shop, steps, {"step": "shipped"}))

    history = ok(shop.get(f"/audit/order/{placed['order_id']}/history", headers=AUDITOR))
    kinds = [event["type"] for event in history["events"]]
    assert kinds == [
        "Order.Placed",
        "Order.Sourced",
        "Order.PickingStarted",
        "Order.Packed",
        "Order.Shipped",
    ]
    assert all(event["trace"]["channel"] == "web" for event in history["events"])
    decision = history["events"][1]["data"]["decision"]
    assert any(reason["code"] == "used" for reason in decision["reasons"])

    as_of = shop.get(
        f"/audit/order/{placed['order_id']}/as-of",
        params={"at": before_shipping.isoformat()},
        headers=AUDITOR,
    )
    assert ok(as_of)["state"]["fulfilments"][0]["status"] == "packed"
    now = ok(shop.get(f"/audit/order/{placed['order_id']}/as-of", headers=AUDITOR))
    assert now["state"]["fulfilments"][0]["status"] == "shipped"

    channel = auth_headers("channel", channel="web")
    refused = shop.get(f"/audit/order/{placed['order_id']}/history", headers=channel)
    assert refused.status_code == 403


def test_a_preorders_history_and_its_shipment_switch_are_read_by_key(
    ledger: RunningLedger,
) -> None:
    with httpx.Client(headers=auth_headers(), base_url=ledger.base_url, timeout=30) as client:
        _shop(client)
        placed = ok(act(client, "/preorders", _preorder(3)))
        ok(act(client, "/stock/receipts", _receipt(3)))
        history = ok(
            client.get(f"/audit/preorder/{placed['preorder_id']}/history", headers=AUDITOR)
        )
        kinds = [event["type"] for event in history["events"]]
        assert kinds == ["Preorder.Placed", "Preorder.Allocated"]
        assert history["events"][0]["data"]["shipment_ref"] == SHIPMENT
        switch = client.get(f"/audit/preorder-switch/{SKU}@web/history", headers=AUDITOR)
        assert ok(switch)["events"][0]["type"] == "PreorderSwitch.Opened"
        bad = client.get("/audit/preorder-switch/no-at-sign/history", headers=AUDITOR)
        assert bad.status_code in (400, 422) and "SKU@CHANNEL" in bad.json()["detail"]
