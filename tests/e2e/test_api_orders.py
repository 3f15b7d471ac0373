"""Orders over HTTP on PostgreSQL: placing sources on the server and holds every line, each
transition and each refusal (409 naming the state, 4xx for bad input, nothing recorded but the
unmet demand of a refusal for lack of stock), the quote that holds nothing, channel rules, kits,
the reads and who may see and do what."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from tests.e2e.ledger_server import (
    EXPIRY_LATER,
    EXPIRY_SOON,
    RunningLedger,
    auth_headers,
    caller_headers,
    count_events,
    headers,
    ok,
    receive,
    unmet_demand,
)

LIP, SERUM, GIFT = "LIP-1", "SERUM-1", "GIFT-1"
NORTH, SOUTH, SHOP, OTHER_SHOP = "WH-NORTH", "WH-SOUTH", "ST-CITY", "ST-EAST"
HOME = {"method": "ship", "latitude": 52.37, "longitude": 4.89}
PICKUP = {"method": "pickup", "store": SHOP}
LEDGER = {"consistency": "ledger"}  # right after a command: the projected answer may lag


def seed(client: httpx.Client) -> None:
    """LIP: 3 north, 5 south (2 expiring soon), 4 in the city shop; SERUM: 6 south."""
    product = {
        "product_code": "P-ORD",
        "name": "Order test",
        "brand": "Glow",
        "category": "lips",
        "variants": [
            {"sku": LIP, "price": "12.50"},
            {"sku": SERUM, "price": "30.00"},
            {"sku": GIFT, "price": "50.00"},
        ],
    }
    ok(client.post("/products", json=product, headers=headers()))
    for code, kind, lat, lon in (
        (NORTH, "warehouse", 53.0, 5.0),
        (SOUTH, "warehouse", 51.0, 4.0),
        (SHOP, "store", 52.37, 4.90),
        (OTHER_SHOP, "store", 52.0, 6.0),
    ):
        place = {"code": code, "name": code, "kind": kind, "latitude": lat, "longitude": lon}
        ok(client.post("/locations", json=place, headers=headers()))
    receive(client, LIP, NORTH, "N1", 3, EXPIRY_LATER)
    receive(client, LIP, SOUTH, "S-EARLY", 2, EXPIRY_SOON)
    receive(client, LIP, SOUTH, "S-LATE", 3, EXPIRY_LATER)
    receive(client, LIP, SHOP, "C1", 4, EXPIRY_LATER)
    receive(client, SERUM, SOUTH, "U1", 6, EXPIRY_LATER)


@pytest.fixture
def shop(ledger: RunningLedger) -> Iterator[httpx.Client]:
    with httpx.Client(headers=auth_headers(), base_url=ledger.base_url, timeout=30) as client:
        seed(client)
        yield client


def order(client: httpx.Client, *lines: tuple[str, int], delivery=HOME, **extra: Any) -> Any:
    body = {"lines": [{"sku": s, "quantity": n} for s, n in lines], "delivery": delivery}
    return client.post("/orders", json={**body, **extra}, headers=headers())


def act(client: httpx.Client, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
    return client.post(path, json=body or {}, headers=headers())


def just_after(expiry: str) -> int:
    """A minimum shelf life that a batch expiring on `expiry` falls short of by one day."""
    return (date.fromisoformat(expiry) - datetime.now(tz=UTC).date()).days + 1


def held(client: httpx.Client, sku: str) -> dict[str, int]:
    stock = ok(client.get(f"/skus/{sku}/stock"))
    return {place["location"]: place["reserved"] for place in stock["locations"]}


def test_placing_sources_holds_and_records_the_decision(
    ledger: RunningLedger, shop: httpx.Client
) -> None:
    response = order(shop, (LIP, 2), (SERUM, 1))
    assert response.status_code == 201, response.text
    placed = response.json()
    assert placed["status"] == "sourced"
    assert [f["location"] for f in placed["fulfilments"]] == [SHOP, SOUTH]
    assert held(shop, LIP)[SHOP] == 2 and held(shop, SERUM)[SOUTH] == 1
    read = ok(shop.get(f"/orders/{placed['order_id']}"))
    reasons = {r["location"]: r["code"] for r in read["decision"]["reasons"]}
    assert reasons[SHOP] == reasons[SOUTH] == "used" and reasons[NORTH] == "farther"
    assert read["decision"]["allocations"] == placed["decision"]["allocations"]
    assert read["source"] == "ledger" and "reasons" not in placed["decision"]


def test_a_quote_answers_the_same_decision_and_holds_nothing(
    ledger: RunningLedger, shop: httpx.Client
) -> None:
    before = count_events(ledger.store_url)
    lines = [{"sku": LIP, "quantity": 11}]
    quoted = shop.post(
        "/orders/quote", json={"lines": lines, "delivery": HOME}, headers={"X-Channel": "web"}
    )
    assert quoted.status_code == 200, quoted.text
    assert count_events(ledger.store_url) == before
    assert sum(held(shop, LIP).values()) == 0
    placed = ok(order(shop, (LIP, 11)))
    assert quoted.json()["allocations"] == placed["decision"]["allocations"]
    refused = shop.post(
        "/orders/quote", json={"lines": lines, "delivery": HOME}, headers={"X-Channel": "web"}
    )
    assert refused.status_code == 200 and refused.json()["sourced"] is False


@pytest.mark.parametrize(
    "lines,delivery,status,code",
    [
        ([("NO-SUCH", 1)], HOME, 404, "unknown-sku"),
        ([(LIP, 50)], HOME, 409, "cannot-source"),
        ([(LIP, 1)], {"method": "pickup", "store": NORTH}, 422, "invalid-command"),
        ([(LIP, 1)], {"method": "pickup", "store": "NOWHERE"}, 404, "unknown-location"),
        ([(LIP, -1)], HOME, 422, "invalid-request"),
        ([(LIP, 0)], HOME, 422, "invalid-request"),
        ([(LIP, 1)], {"method": "ship", "latitude": 91, "longitude": 0}, 422, "invalid-request"),
        ([(LIP, 1)], {"method": "courier"}, 422, "invalid-request"),
    ],
)
def test_bad_orders_are_a_clear_4xx_with_nothing_recorded(
    ledger: RunningLedger,
    shop: httpx.Client,
    lines: list[tuple[str, int]],
    delivery: dict[str, Any],
    status: int,
    code: str,
) -> None:
    before = count_events(ledger.store_url)
    response = order(shop, *lines, delivery=delivery)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith(code), response.json()
    unmet = 1 if code == "cannot-source" else 0  # the demand it could not meet, recorded
    assert count_events(ledger.store_url) == before + unmet


def test_a_shipped_order_walks_every_step_and_refuses_an_illegal_one(shop: httpx.Client) -> None:
    placed = ok(order(shop, (SERUM, 2)))
    base = f"/orders/{placed['order_id']}"
    (fulfilment,) = placed["fulfilments"]
    steps = f"{base}/fulfilments/{fulfilment['fulfilment_id']}/steps"
    refused = act(shop, steps, {"step": "shipped"})
    assert refused.status_code == 409
    assert "is open and cannot become shipped" in refused.json()["detail"]
    for step in ("picking", "packed", "shipped", "delivered"):
        ok(act(shop, steps, {"step": step}))
    assert ok(shop.get(f"/skus/{SERUM}/stock/{SOUTH}"))["on_hand"] == 4
    edit = act(shop, f"{base}/lines/edit", {"change": {"L1": 1}})
    assert edit.status_code == 409 and "completed" in edit.json()["detail"]
    cancel = act(shop, f"{base}/cancel")
    assert cancel.status_code == 409 and "is completed" in cancel.json()["detail"]
    rma = ok(act(shop, f"{base}/returns", {"lines": {"L1": 2}}))
    assert rma["rma_id"] == "R1"
    receipt = {"location": SOUTH, "restocked": {"L1": 1}, "damaged": {"L1": 1}}
    ok(act(shop, f"{base}/returns/R1/receive", receipt))
    assert ok(shop.get(f"/skus/{SERUM}/stock/{SOUTH}"))["on_hand"] == 5
    too_much = act(shop, f"{base}/returns/R1/refund", {"amount": "100.00"})
    assert too_much.status_code == 422
    refunded = ok(act(shop, f"{base}/returns/R1/refund", {"amount": "60.00"}))
    assert refunded["returns"][0]["status"] == "refunded"


def test_pickup_ready_then_not_collected_gives_the_stock_back(shop: httpx.Client) -> None:
    placed = ok(order(shop, (LIP, 2), delivery=PICKUP))
    (fulfilment,) = placed["fulfilments"]
    assert fulfilment["location"] == SHOP and fulfilment["method"] == "pickup"
    steps = f"/orders/{placed['order_id']}/fulfilments/F1/steps"
    wrong = act(shop, steps, {"step": "delivered"})
    assert wrong.status_code == 409 and "pickup fulfilment" in wrong.json()["detail"]
    for step in ("picking", "packed", "ready-for-pickup"):
        ok(act(shop, steps, {"step": step}))
    assert held(shop, LIP)[SHOP] == 2
    ok(act(shop, steps, {"step": "not-collected"}))
    assert held(shop, LIP)[SHOP] == 0
    unknown = act(shop, f"/orders/{placed['order_id']}/fulfilments/F9/steps", {"step": "packed"})
    assert unknown.status_code == 404


def test_cancelling_lines_and_orders_and_a_failed_payment_give_back_exactly_their_units(
    shop: httpx.Client,
) -> None:
    placed = ok(order(shop, (LIP, 11)))
    base = f"/orders/{placed['order_id']}"
    ok(act(shop, f"{base}/lines/cancel", {"lines": {"L1": 4}}))
    assert sum(held(shop, LIP).values()) == 7
    too_many = act(shop, f"{base}/lines/cancel", {"lines": {"L1": 8}})
    assert too_many.status_code == 422
    ok(act(shop, f"{base}/cancel"))
    assert sum(held(shop, LIP).values()) == 0
    again = act(shop, f"{base}/cancel")
    assert again.status_code == 409 and "is cancelled" in again.json()["detail"]

    paid = ok(order(shop, (LIP, 2)))
    pay = f"/orders/{paid['order_id']}/payment"
    no_amount = act(shop, pay, {"outcome": "authorised"})
    assert no_amount.status_code == 422
    ok(act(shop, pay, {"outcome": "authorised", "amount": "25.00"}))
    capture_twice = act(shop, pay, {"outcome": "authorised", "amount": "25.00"})
    assert capture_twice.status_code == 409 and "authorised" in capture_twice.json()["detail"]
    failed = ok(act(shop, pay, {"outcome": "failed"}))
    assert failed["status"] == "cancelled"
    assert sum(held(shop, LIP).values()) == 0


def test_an_edit_sources_the_order_again(shop: httpx.Client) -> None:
    placed = ok(order(shop, (LIP, 2)))
    edited = ok(
        act(
            shop,
            f"/orders/{placed['order_id']}/lines/edit",
            {"add": [{"sku": SERUM, "quantity": 1}], "change": {"L1": 1}},
        )
    )
    assert [line["line_id"] for line in edited["lines"]] == ["L1", "L2"]
    assert sum(held(shop, LIP).values()) == 1 and held(shop, SERUM)[SOUTH] == 1
    bad = act(shop, f"/orders/{placed['order_id']}/lines/edit", {"change": {"L7": 1}})
    assert bad.status_code == 422 and "no line 'L7'" in bad.json()["detail"]


def test_channel_rules_bound_sourcing_and_channel_availability(shop: httpx.Client) -> None:
    rules = {
        "sell_from": [NORTH, SOUTH],
        "safety_buffers": {LIP: 1},
        "min_shelf_life_days": just_after(EXPIRY_SOON),  # S-EARLY is too short-dated
        "sourcing": {"strategy": "priority", "priority": [SOUTH, NORTH]},
    }
    answer = ok(act(shop, "/channels/marketplace/rules", rules))
    assert answer["strategy"] == "priority" and answer["locations"] == [NORTH, SOUTH]
    available = ok(shop.get(f"/channels/marketplace/availability/{LIP}", params=LEDGER))
    # north: 3 - 1; south: 5 - 1 free, of which S-LATE's 3 are long dated enough
    assert available["available_to_sell"] == 2 + 3 and available["source"] == "ledger"
    assert (
        ok(shop.get(f"/channels/web/availability/{LIP}", params=LEDGER))["available_to_sell"] == 12
    )
    market = {"lines": [{"sku": LIP, "quantity": 4}], "delivery": HOME}
    response = shop.post("/orders", json=market, headers=headers(channel="marketplace"))
    assert response.status_code == 201, response.text
    assert [f["location"] for f in response.json()["fulfilments"]] == [SOUTH, NORTH]
    web_token = caller_headers("channel", "web")
    refused = shop.post("/channels/web/rules", json={"min_shelf_life_days": 1}, headers=web_token)
    assert refused.status_code == 403 and "channel role" in refused.json()["detail"]
    unknown = act(shop, "/channels/nowhere/rules", {"min_shelf_life_days": 1})
    assert unknown.status_code == 404


def test_a_kit_takes_every_component_atomically(ledger: RunningLedger, shop: httpx.Client) -> None:
    ok(act(shop, "/kits", {"sku": GIFT, "components": {LIP: 1, SERUM: 2}}))
    nested = act(shop, "/kits", {"sku": GIFT, "components": {GIFT: 1}})
    assert nested.status_code == 422
    assert (
        ok(shop.get(f"/channels/web/availability/{GIFT}", params=LEDGER))["available_to_sell"] == 3
    )
    placed = ok(order(shop, (GIFT, 3)))
    assert [f["location"] for f in placed["fulfilments"]] == [SOUTH]
    assert held(shop, SERUM)[SOUTH] == 6 and held(shop, LIP)[SOUTH] == 3
    before = count_events(ledger.store_url)
    assert order(shop, (GIFT, 1)).status_code == 409
    # nothing held; the component no location had left is recorded as unmet demand
    (demand,) = unmet_demand(ledger)
    assert (demand.sku, demand.asked, demand.available, demand.short) == (SERUM, 2, 0, 2)
    assert count_events(ledger.store_url) == before + 1


def test_reads_and_who_may_act(shop: httpx.Client, ledger: RunningLedger) -> None:
    mine = {"lines": [{"sku": LIP, "quantity": 11}], "delivery": HOME}
    web = caller_headers("channel", "web")
    placed = ok(shop.post("/orders", json=mine, headers=web))
    order_id = placed["order_id"]
    by_place = {f["location"]: f["fulfilment_id"] for f in placed["fulfilments"]}
    app = caller_headers("channel", "app")
    assert shop.get(f"/orders/{order_id}", headers=app).status_code == 403
    refused = shop.post(f"/orders/{order_id}/cancel", json={}, headers=app)
    assert refused.status_code == 403 and "another channel" in refused.json()["detail"]
    staff = caller_headers("store-staff", "pos", location=SHOP)
    own = f"/orders/{order_id}/fulfilments/{by_place[SHOP]}"
    picks = shop.get(f"{own}/pick-list", headers=staff)
    assert picks.status_code == 200 and picks.json()["items"] == [
        {"sku": LIP, "quantity": 4, "batches": {"C1": 4}}
    ]
    elsewhere = f"/orders/{order_id}/fulfilments/{by_place[NORTH]}"
    assert shop.get(f"{elsewhere}/pick-list", headers=staff).status_code == 403
    step = caller_headers("store-staff", "pos", location=SHOP)
    assert shop.post(f"{own}/steps", json={"step": "picking"}, headers=step).status_code == 200
    step["Idempotency-Key"] = str(uuid.uuid4())
    away = shop.post(f"{elsewhere}/steps", json={"step": "picking"}, headers=step)
    assert away.status_code == 403 and "staff of" in away.json()["detail"]
    auditor = {"Authorization": auth_headers("auditor")["Authorization"]}
    assert shop.get(f"/orders/{order_id}", headers=auditor).status_code == 200
    # listing reads the order read model, which this ledger runs without (hot views off);
    # tests/integration/readside/test_order_views_over_http.py lists with it
    off = shop.get("/orders", params={"status": "in_fulfilment"}, headers=web)
    assert off.status_code == 503 and off.json()["type"].endswith("read-models-off")
    bad = shop.get("/orders", params={"status": "lost"})
    assert bad.status_code == 422
    assert shop.get(f"/orders/{uuid.uuid4()}").status_code == 404
    assert shop.get("/orders/not-a-uuid").status_code == 422
