"""Holds that fit checkout and transfers in transit over HTTP: each route, and each refusal
a clear problem with nothing recorded."""

from __future__ import annotations

import uuid

import httpx

from tests.e2e.ledger_server import (
    RunningLedger,
    caller_headers,
    ok,
    post,
    refused,
    register_location,
    stocked_sku,
)

SKU, SHOP, DEPOT = "GLOSS-CART", "LYON-1", "DEPOT-1"


def _cart(client: httpx.Client, quantity: int = 2, ttl: int = 600) -> str:
    lines = [{"sku": SKU, "location": SHOP, "quantity": quantity}]
    placed = ok(post(client, "/reservations", {"lines": lines, "ttl_seconds": ttl}))
    return str(placed["reservation_id"])


def test_a_reservation_is_extended_within_its_bounds(
    ledger: RunningLedger, client: httpx.Client
) -> None:
    stocked_sku(client, SKU, SHOP, {"B1": 5})
    reservation = _cart(client)
    path = f"/reservations/{reservation}/extend"
    first = ok(post(client, path, {"extend_by_seconds": 300}))
    assert first["extensions"] == 1
    ok(post(client, path, {"extend_by_seconds": 300}))
    ok(post(client, path, {"extend_by_seconds": 300}))
    problem = refused(ledger, client, path, {"extend_by_seconds": 60})
    assert problem["type"] == "/problems/hold-limit"
    assert "extended 3 times" in problem["detail"]
    too_long = refused(ledger, client, path, {"extend_by_seconds": 7201}, status=422)
    assert "extend_by_seconds" in str(too_long)
    assert client.get(f"/reservations/{reservation}").json()["extensions"] == 3


def test_a_closed_reservation_is_not_extended_nor_another_channels(
    ledger: RunningLedger, client: httpx.Client
) -> None:
    stocked_sku(client, SKU, SHOP, {"B1": 5})
    reservation = _cart(client)
    path = f"/reservations/{reservation}/extend"
    app = caller_headers("channel", "app")
    other = refused(ledger, client, path, {"extend_by_seconds": 60}, caller=app, status=403)
    assert "another channel" in other["detail"]
    ok(post(client, f"/reservations/{reservation}/release", {}))
    problem = refused(ledger, client, path, {"extend_by_seconds": 60})
    assert problem["type"] == "/problems/reservation-closed"
    unknown = f"/reservations/{uuid.uuid4()}/extend"
    assert refused(ledger, client, unknown, {"extend_by_seconds": 60}, status=404)


def test_a_cart_becomes_an_order_without_freeing_its_units(
    ledger: RunningLedger, client: httpx.Client
) -> None:
    stocked_sku(client, SKU, SHOP, {"B1": 5})
    reservation = _cart(client, quantity=3)
    order_id = str(uuid.uuid4())
    body = {"order_id": order_id, "delivery": {"method": "pickup", "store": SHOP}}
    response = post(client, f"/reservations/{reservation}/order", body)
    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["status"] == "ordered" and answer["order_id"] == order_id
    order = answer["order"]
    assert order["status"] == "sourced"
    assert order["lines"][0]["quantity"] == 3
    (fulfilment,) = order["fulfilments"]
    assert (fulfilment["location"], fulfilment["method"]) == (SHOP, "pickup")
    stock = client.get(f"/skus/{SKU}/stock/{SHOP}").json()
    assert (stock["on_hand"], stock["reserved"], stock["available"]) == (5, 3, 2)
    again = refused(ledger, client, f"/reservations/{reservation}/order", body)
    assert again["type"] == "/problems/reservation-closed"


def test_a_conversion_refuses_bad_input_with_nothing_recorded(
    ledger: RunningLedger, client: httpx.Client
) -> None:
    stocked_sku(client, SKU, SHOP, {"B1": 5})
    register_location(client, DEPOT)
    reservation = _cart(client)
    path = f"/reservations/{reservation}/order"
    elsewhere = {"delivery": {"method": "pickup", "store": DEPOT}}
    assert (
        "needs every line held there"
        in refused(ledger, client, path, elsewhere, status=422)["detail"]
    )
    no_delivery = refused(ledger, client, path, {}, status=422)
    assert "delivery" in str(no_delivery)
    off_map = {"delivery": {"method": "ship", "latitude": 91, "longitude": 0}}
    refused(ledger, client, path, off_map, status=422)
    unknown = {"delivery": {"method": "drone"}}
    refused(ledger, client, path, unknown, status=422)


def test_a_transfer_in_transit_is_visible_not_sellable_then_received_short(
    ledger: RunningLedger, client: httpx.Client
) -> None:
    stocked_sku(client, SKU, SHOP, {"B1": 5})
    register_location(client, DEPOT)
    transfer_id = str(uuid.uuid4())
    sent = {
        "transfer_id": transfer_id,
        "sku": SKU,
        "from_location": SHOP,
        "to_location": DEPOT,
        "quantity": 4,
    }
    ok(post(client, "/transfers/dispatches", sent))
    at_depot = client.get(f"/skus/{SKU}/stock/{DEPOT}").json()
    assert (at_depot["on_hand"], at_depot["in_transit"], at_depot["available"]) == (0, 4, 0)
    total = client.get(f"/skus/{SKU}/stock").json()
    assert (total["on_hand"], total["in_transit"]) == (1, 4)
    line = [{"sku": SKU, "location": DEPOT, "quantity": 1}]
    refused(ledger, client, "/reservations", {"lines": line})

    receipt = f"/transfers/{transfer_id}/receipt"
    refused(
        ledger, client, receipt, {"sku": SKU, "location": DEPOT, "batches": {"B1": 5}}, status=422
    )
    refused(
        ledger, client, receipt, {"sku": SKU, "location": DEPOT, "batches": {"B1": -1}}, status=422
    )
    refused(
        ledger,
        client,
        f"/transfers/{uuid.uuid4()}/receipt",
        {"sku": SKU, "location": DEPOT},
        status=404,
    )
    refused(
        ledger, client, "/transfers/not-a-uuid/receipt", {"sku": SKU, "location": DEPOT}, status=422
    )
    answer = ok(post(client, receipt, {"sku": SKU, "location": DEPOT, "batches": {"B1": 3}}))
    assert answer["shortfall"] == {"B1": 1}
    assert (answer["on_hand"], answer["in_transit"], answer["available"]) == (3, 0, 3)
    refused(ledger, client, receipt, {"sku": SKU, "location": DEPOT}, status=404)


def test_a_selling_token_extends_a_hold_by_at_most_its_longest_hold(
    ledger: RunningLedger, client: httpx.Client
) -> None:
    stocked_sku(client, SKU, SHOP, {"B1": 5})
    reservation = _cart(client)
    path = f"/reservations/{reservation}/extend"
    web = caller_headers("channel", "web")
    problem = refused(ledger, client, path, {"extend_by_seconds": 3601}, caller=web, status=422)
    assert problem["limit"] == "max_reservation_ttl_seconds"
    extended = client.post(path, json={"extend_by_seconds": 600}, headers=web)
    assert extended.status_code == 200, extended.text
