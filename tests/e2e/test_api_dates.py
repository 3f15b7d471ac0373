"""Dates no business would use are refused with a 422 before anything is recorded or any
arithmetic is done with them (findings 1, 7, 12): expiry and expected dates within a range,
occurred_at within the caller's backdating bound, and no offset that overflows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import stocked_shop
from tests.e2e.ledger_server import (
    EXPIRY_SOON,
    RunningLedger,
    auth_headers,
    caller_headers,
    count_events,
    define_sku,
    headers,
    ok,
    receive,
)

SKU, SHOP = "BALM-DATES", "DATE-1"
LINE = {"sku": SKU, "location": SHOP, "quantity": 1}
RECEIPT = {"sku": SKU, "location": SHOP, "batch": "B9", "quantity": 5}
FAR_PAST = ["0001-01-01", "1900-01-01", "1999-12-31"]
FAR_FUTURE = ["9999-12-31", "2999-01-01", "2200-06-30"]
OVERFLOWING = ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"]


@pytest.fixture(scope="module")
def shop() -> Iterator[RunningLedger]:
    with stocked_shop(SKU, SHOP, {"B1": 50}) as running:
        yield running


@pytest.fixture
def admin(shop: RunningLedger) -> Iterator[httpx.Client]:
    with httpx.Client(headers=auth_headers(), base_url=shop.base_url, timeout=30) as client:
        yield client


def _refused(client: httpx.Client, shop: RunningLedger, path: str, body: Any, **kw: Any) -> Any:
    before = count_events(shop.store_url)
    response = client.post(path, json=body, headers=kw.get("headers") or headers())
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert count_events(shop.store_url) == before
    return response.json()


@pytest.mark.parametrize("expiry", FAR_PAST + FAR_FUTURE)
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/stock/receipts", RECEIPT),
        ("/returns", {**RECEIPT, "batch": "NEW-9", "restock": True, "reason": "found"}),
    ],
)
def test_an_expiry_no_business_would_use_is_refused(
    admin: httpx.Client, shop: RunningLedger, path: str, body: dict[str, Any], expiry: str
) -> None:
    problem = _refused(admin, shop, path, {**body, "expiry": expiry})
    assert problem["type"].endswith("date-out-of-range")
    assert expiry in problem["detail"] and "expected a date from" in problem["detail"]


@pytest.mark.parametrize("expected_on", FAR_PAST + FAR_FUTURE)
def test_a_shipment_expected_on_a_date_no_business_would_use_is_refused(
    admin: httpx.Client, shop: RunningLedger, expected_on: str
) -> None:
    body = {"sku": SKU, "location": SHOP, "shipment_ref": "PO-9", "quantity": 3}
    problem = _refused(
        admin, shop, "/stock/expected-shipments", {**body, "expected_on": expected_on}
    )
    assert problem["type"].endswith("date-out-of-range")


def test_dates_within_the_business_range_are_taken(admin: httpx.Client) -> None:
    today = date.today()
    receive(admin, SKU, SHOP, "OLD-1", 1, (today - timedelta(days=4 * 365)).isoformat())
    receive(admin, SKU, SHOP, "NEW-1", 1, (today + timedelta(days=9 * 365)).isoformat())
    body = {"sku": SKU, "location": SHOP, "shipment_ref": "PO-1", "quantity": 3}
    ok(
        admin.post(
            "/stock/expected-shipments", json={**body, "expected_on": str(today)}, headers=headers()
        )
    )


COMMANDS_WITH_OCCURRED_AT = [
    ("/sales", {"lines": [LINE]}),
    ("/reservations", {"lines": [LINE]}),
    ("/stock/receipts", {**RECEIPT, "expiry": EXPIRY_SOON}),
    ("/adjustments", {"sku": SKU, "location": SHOP, "batch": "B1", "delta": 1, "reason": "found"}),
    ("/transfers", {"sku": SKU, "from_location": SHOP, "to_location": "NOWHERE", "quantity": 1}),
    ("/batches/quarantine", {"sku": SKU, "location": SHOP, "batch": "B1"}),
    ("/locations", {"code": "L-X", "name": "x", "kind": "store", "latitude": 1, "longitude": 1}),
]


@pytest.mark.parametrize("occurred_at", OVERFLOWING)
@pytest.mark.parametrize(("path", "body"), COMMANDS_WITH_OCCURRED_AT)
def test_an_occurred_at_whose_offset_overflows_is_a_422_not_a_500(
    admin: httpx.Client, shop: RunningLedger, path: str, body: dict[str, Any], occurred_at: str
) -> None:
    problem = _refused(admin, shop, path, {**body, "occurred_at": occurred_at})
    assert problem["type"].endswith("invalid-request")
    assert "occurred_at" in problem["detail"] and "years 1 to 9999" in problem["detail"]


@pytest.mark.parametrize("occurred_at", ["0001-01-01T00:00:00Z", "1999-01-01T00:00:00Z"])
@pytest.mark.parametrize(("path", "body"), COMMANDS_WITH_OCCURRED_AT)
def test_even_an_admin_cannot_date_a_command_before_the_business_range(
    admin: httpx.Client, shop: RunningLedger, path: str, body: dict[str, Any], occurred_at: str
) -> None:
    problem = _refused(admin, shop, path, {**body, "occurred_at": occurred_at})
    assert problem["type"].endswith("backdated-too-far")
    assert "may date a command back by at most 3650 days" in problem["detail"]


def _ago(**delta: float) -> str:
    return (datetime.now(tz=UTC) - timedelta(**delta)).isoformat()


def test_a_till_may_backdate_a_sale_by_a_week_but_no_further(
    admin: httpx.Client, shop: RunningLedger
) -> None:
    pos = caller_headers("channel", "pos")
    recent = {"lines": [LINE], "occurred_at": _ago(days=6, hours=23)}
    ok(admin.post("/sales", json=recent, headers=pos))
    problem = _refused(
        admin,
        shop,
        "/sales",
        {"lines": [LINE], "occurred_at": _ago(days=7, hours=1)},
        headers=caller_headers("channel", "pos"),
    )
    assert "604800" in problem["detail"] or "7 days" in problem["detail"]


def test_a_web_shop_may_not_backdate_beyond_its_bound(
    admin: httpx.Client, shop: RunningLedger
) -> None:
    body = {"lines": [LINE], "occurred_at": _ago(hours=2)}
    problem = _refused(admin, shop, "/sales", body, headers=caller_headers("channel", "web"))
    assert problem["type"].endswith("backdated-too-far")


def test_an_expired_batch_cannot_be_sold_by_backdating_the_sale(
    admin: httpx.Client, shop: RunningLedger
) -> None:
    """Finding 7: 409 without occurred_at, 200 with 0001-01-01. Now the bound refuses the
    backdating, so expiry is judged no earlier than a week before the recording: a batch
    that expired before that cannot be sold, one that expired within it can only by a sale
    that really happened before its expiry (a till that was offline)."""
    sku = "BALM-EXPIRED"
    long_ago = (date.today() - timedelta(days=30)).isoformat()
    lately = (date.today() - timedelta(days=2)).isoformat()
    define_sku(admin, sku)
    receive(admin, sku, SHOP, "GONE", 5, long_ago)
    receive(admin, sku, SHOP, "LATE", 5, lately)
    gone = {"lines": [{"sku": sku, "location": SHOP, "quantity": 1, "batch": "GONE"}]}
    pos = lambda: caller_headers("channel", "pos")  # noqa: E731
    assert admin.post("/sales", json=gone, headers=pos()).status_code == 409
    for back in ("0001-01-01T00:00:00Z", _ago(days=40), _ago(days=8)):
        response = admin.post("/sales", json={**gone, "occurred_at": back}, headers=pos())
        assert response.status_code == 422, response.text
    within = {**gone, "occurred_at": _ago(days=6)}
    assert admin.post("/sales", json=within, headers=pos()).status_code == 409
    late = {"lines": [{"sku": sku, "location": SHOP, "quantity": 1, "batch": "LATE"}]}
    assert admin.post("/sales", json=late, headers=pos()).status_code == 409
    ok(admin.post("/sales", json={**late, "occurred_at": _ago(days=3)}, headers=pos()))
