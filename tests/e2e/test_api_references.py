"""source_ref and reason are references (a pattern), never free text: a name or a note about
a customer has nowhere to go in the stock log, which forgetting cannot reach (finding 15)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.conftest import stocked_shop
from tests.e2e.ledger_server import (
    RunningLedger,
    auth_headers,
    count_events,
    headers,
    ok,
)

SKU, SHOP = "OIL-REFS", "REFS-1"
LINE = {"sku": SKU, "location": SHOP, "quantity": 1}
FREE_TEXT = [
    "Anna Smith, 12 rue de la Paix",
    "anna@example.org",
    "call +33 6 12 34 56 78",
    "x" * 101,
]
COMMANDS = [
    ("/sales", {"lines": [LINE]}),
    ("/reservations", {"lines": [LINE]}),
    ("/returns", {"sku": SKU, "location": SHOP, "batch": "B1", "quantity": 1, "restock": False}),
    (
        "/stock/receipts",
        {"sku": SKU, "location": SHOP, "batch": "B2", "expiry": "2031-01-31", "quantity": 1},
    ),
    ("/batches/quarantine", {"sku": SKU, "location": SHOP, "batch": "B1"}),
]


@pytest.fixture(scope="module")
def shop() -> Iterator[RunningLedger]:
    with stocked_shop(SKU, SHOP, {"B1": 50}) as running:
        yield running


@pytest.fixture
def admin(shop: RunningLedger) -> Iterator[httpx.Client]:
    with httpx.Client(headers=auth_headers(), base_url=shop.base_url, timeout=30) as client:
        yield client


@pytest.mark.parametrize("field", ["source_ref", "reason"])
@pytest.mark.parametrize("text", FREE_TEXT)
@pytest.mark.parametrize(("path", "body"), COMMANDS)
def test_free_text_in_a_reference_is_refused(
    admin: httpx.Client,
    shop: RunningLedger,
    path: str,
    body: dict[str, object],
    field: str,
    text: str,
) -> None:
    before = count_events(shop.store_url)
    refused = admin.post(path, json={**body, field: text}, headers=headers())
    assert refused.status_code == 422, refused.text
    assert field in refused.json()["detail"]
    assert count_events(shop.store_url) == before


def test_a_recall_and_a_forget_take_a_reference_too(admin: httpx.Client) -> None:
    forget = {"reason": "asked by phone, Anna Smith"}
    refused = admin.post(f"/customers/{uuid.uuid4()}/forget", json=forget, headers=headers())
    assert refused.status_code == 422 and "reason" in refused.json()["detail"]
    recall = {"sku": SKU, "batch": "R9", "reason": "notice about Anna Smith"}
    assert admin.post("/batches/recall", json=recall, headers=headers()).status_code == 422
    ok(
        admin.post(
            "/batches/recall", json={**recall, "reason": "EU-RAPEX-2026/114"}, headers=headers()
        )
    )


def test_references_are_taken(admin: httpx.Client) -> None:
    body = {"lines": [LINE], "source_ref": "web-order#A-1042/2", "reason": "walk_in"}
    ok(admin.post("/sales", json=body, headers=headers()))


def test_the_openapi_document_states_the_pattern(admin: httpx.Client) -> None:
    document = admin.get("/openapi.json").text
    assert "^[A-Za-z0-9][A-Za-z0-9._:/#-]*$" in document.replace("\\\\", "\\")
