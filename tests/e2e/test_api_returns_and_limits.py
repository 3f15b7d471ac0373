"""A channel takes back only what it sold, and a selling token's lines and holds are bounded
(finding 8): returns are checked against the sales at that location (and to that customer),
a return no sale covers is the back office's with a reason, and a selling role's line
quantity and reservation lifetime have limits named in the refusal."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import stocked_shop
from tests.e2e.ledger_server import (
    RunningLedger,
    caller_headers,
    count_events,
    ok,
)

SKU, SHOP = "CREAM-RET", "RET-1"
ANNA, BEN = str(uuid.uuid4()), str(uuid.uuid4())


@pytest.fixture(scope="module")
def shop() -> Iterator[RunningLedger]:
    with stocked_shop(SKU, SHOP, {"B1": 2000}) as running:
        yield running


@pytest.fixture
def http(shop: RunningLedger) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=shop.base_url, timeout=30) as client:
        yield client


def _web() -> dict[str, str]:
    return caller_headers("channel", "web", subject="web-shop")


def _return(quantity: int, batch: str = "B1", **extra: Any) -> dict[str, Any]:
    body = {"sku": SKU, "location": SHOP, "batch": batch, "quantity": quantity, "restock": True}
    return {**body, **extra}


def _sell(http: httpx.Client, quantity: int, customer: str | None = None) -> None:
    body: dict[str, Any] = {"lines": [{"sku": SKU, "location": SHOP, "quantity": quantity}]}
    if customer:
        body["customer_id"] = customer
    ok(http.post("/sales", json=body, headers=_web()))


def test_a_channel_cannot_return_a_batch_nobody_bought(
    shop: RunningLedger, http: httpx.Client
) -> None:
    """Finding 8: a web token returned 1,000,000 units of a new batch, twice."""
    before = count_events(shop.store_url)
    for body in (
        _return(5, "NEW-1", expiry="2031-01-31"),
        _return(1, "NEW-1", expiry="2031-01-31"),
    ):
        refused = http.post("/returns", json=body, headers=_web())
        assert refused.status_code == 409, refused.text
        assert refused.json()["type"].endswith("return-exceeds-sale")
        assert "back office with a reason" in refused.json()["detail"]
    assert count_events(shop.store_url) == before


def test_returns_to_a_customer_stop_at_what_was_sold_to_them(http: httpx.Client) -> None:
    _sell(http, 2, ANNA)
    _sell(http, 5, BEN)
    ok(http.post("/returns", json=_return(1, customer_id=ANNA), headers=_web()))
    ok(http.post("/returns", json=_return(1, customer_id=ANNA), headers=_web()))
    refused = http.post("/returns", json=_return(1, customer_id=ANNA), headers=_web())
    assert refused.status_code == 409, refused.text
    assert "to that customer" in refused.json()["detail"]
    ok(http.post("/returns", json=_return(5, customer_id=BEN), headers=_web()))


def test_a_web_order_confirmed_from_a_reservation_is_returnable_by_its_customer(
    http: httpx.Client,
) -> None:
    chloe = str(uuid.uuid4())
    body = {"customer_id": chloe, "lines": [{"sku": SKU, "location": SHOP, "quantity": 2}]}
    placed = ok(http.post("/reservations", json=body, headers=_web()))
    ok(http.post(f"/reservations/{placed['reservation_id']}/confirm", headers=_web()))
    ok(http.post("/returns", json=_return(2, customer_id=chloe), headers=_web()))
    refused = http.post("/returns", json=_return(1, customer_id=chloe), headers=_web())
    assert refused.status_code == 409, refused.text


def test_the_back_office_takes_an_unlinked_return_only_with_a_reason(http: httpx.Client) -> None:
    body = _return(3, "FOUND-1", expiry="2031-01-31")
    back_office = caller_headers("admin", "backoffice")
    no_reason = http.post("/returns", json=body, headers=back_office)
    assert no_reason.status_code == 422, no_reason.text
    assert "give a reason code" in no_reason.json()["detail"]
    ok(http.post("/returns", json={**body, "reason": "found-in-store"}, headers=back_office))


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/reservations", {"lines": [{"sku": SKU, "location": SHOP, "quantity": 1001}]}),
        ("/sales", {"lines": [{"sku": SKU, "location": SHOP, "quantity": 1_000_000}]}),
        ("/returns", _return(1001)),
    ],
)
def test_a_selling_token_puts_at_most_the_line_limit_on_a_line(
    shop: RunningLedger, http: httpx.Client, path: str, body: dict[str, Any]
) -> None:
    before = count_events(shop.store_url)
    refused = http.post(path, json=body, headers=_web())
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["type"].endswith("limit-exceeded")
    assert problem["limit"] == "max_line_quantity" and problem["value"] == 1000
    assert "at most 1000 unit(s)" in problem["detail"]
    assert count_events(shop.store_url) == before


def test_a_selling_token_holds_stock_for_at_most_the_ttl_limit(http: httpx.Client) -> None:
    body = {"lines": [{"sku": SKU, "location": SHOP, "quantity": 1}], "ttl_seconds": 7 * 24 * 3600}
    refused = http.post("/reservations", json=body, headers=_web())
    assert refused.status_code == 422, refused.text
    assert refused.json()["limit"] == "max_reservation_ttl_seconds"
    ok(http.post("/reservations", json={**body, "ttl_seconds": 3600}, headers=_web()))
    ok(http.post("/reservations", json=body, headers=caller_headers("admin", "backoffice")))
