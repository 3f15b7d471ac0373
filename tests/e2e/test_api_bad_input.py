"""Every malformed request is refused with a problem document that says what was wrong and what
was expected, and leaves the event store as it was."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from configuration.settings import Settings
from domain.ids import stock_id
from tests.e2e.conftest import scratch_database
from tests.e2e.ledger_server import (
    RunningLedger,
    auth_headers,
    count_events,
    headers,
    serve,
    stocked_sku,
)

SKU, SHOP = "MASCARA-BAD", "NICE-1"
LINE = {"sku": SKU, "location": SHOP, "quantity": 1}
RECEIPT = {"sku": SKU, "location": SHOP, "batch": "B1", "expiry": "2031-01-31", "quantity": 5}


@dataclass(frozen=True)
class BadRequest:
    method: str
    path: str
    status: int
    problem: str
    says: tuple[str, ...]
    body: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=headers)


def _bad(path: str, body: Any, status: int, problem: str, *says: str) -> BadRequest:
    return BadRequest("POST", path, status, problem, says, body=body)


BAD_REQUESTS = {
    "malformed json": BadRequest(
        "POST",
        "/sales",
        400,
        "malformed-json",
        ("not valid JSON", "expected one JSON object"),
        content=b'{"lines": [',
        headers={**headers(), "content-type": "application/json"},
    ),
    "quantity as a string": _bad(
        "/sales",
        {"lines": [{**LINE, "quantity": "3"}]},
        422,
        "invalid-request",
        "lines.0.quantity",
        "valid integer",
    ),
    "quantity as a fraction": _bad(
        "/stock/receipts",
        {**RECEIPT, "quantity": 2.5},
        422,
        "invalid-request",
        "quantity",
        "valid integer",
    ),
    "unknown adjustment reason code": _bad(
        "/adjustments",
        {"sku": SKU, "location": SHOP, "batch": "B1", "delta": -1, "reason": "because"},
        422,
        "invalid-request",
        "reason",
        "cycle_count",
    ),
    "negative quantity": _bad(
        "/reservations",
        {"lines": [{**LINE, "quantity": -2}]},
        422,
        "invalid-request",
        "lines.0.quantity",
        "greater than 0",
    ),
    "zero quantity": _bad(
        "/stock/receipts",
        {**RECEIPT, "quantity": 0},
        422,
        "invalid-request",
        "quantity",
        "greater than 0",
    ),
    "list instead of object": _bad(
        "/sales",
        [LINE],
        422,
        "invalid-request",
        "valid dictionary",
    ),
    "unknown sku": _bad(
        "/sales",
        {"lines": [{**LINE, "sku": "NO-SUCH-SKU"}]},
        404,
        "unknown-sku",
        "NO-SUCH-SKU",
    ),
    "unknown location": _bad(
        "/stock/receipts",
        {**RECEIPT, "location": "NOWHERE"},
        404,
        "unknown-location",
        "NOWHERE",
    ),
    "unknown reservation": _bad(
        f"/reservations/{uuid.UUID(int=7)}/confirm",
        {},
        404,
        "unknown-reservation",
        str(uuid.UUID(int=7)),
    ),
    "reservation id that names a stock": _bad(
        f"/reservations/{stock_id(SKU, SHOP)}/release",
        {},
        404,
        "unknown-reservation",
        str(stock_id(SKU, SHOP)),
    ),
    "date in the wrong format": _bad(
        "/stock/receipts",
        {**RECEIPT, "expiry": "31/01/2031"},
        422,
        "invalid-request",
        "expiry",
        "YYYY-MM-DD",
    ),
    "naive occurred_at": _bad(
        "/sales",
        {"lines": [LINE], "occurred_at": "2026-11-26T10:00:00"},
        422,
        "invalid-request",
        "occurred_at",
        "timezone",
    ),
    "occurred_at in the future": _bad(
        "/sales",
        {"lines": [LINE], "occurred_at": "2099-01-01T00:00:00Z"},
        422,
        "occurred-in-future",
        "later than the ledger's clock",
    ),
    "unknown field": _bad(
        "/sales",
        {"lines": [LINE], "discount": 5},
        422,
        "invalid-request",
        "discount",
        "not permitted",
    ),
    "body over 64 KiB": _bad(
        "/sales",
        {"lines": [LINE], "source_ref": "x" * 70_000},
        413,
        "body-too-large",
        "65536",
    ),
    "missing idempotency key": BadRequest(
        "POST",
        "/sales",
        400,
        "missing-idempotency-key",
        ("Idempotency-Key",),
        body={"lines": [LINE]},
        headers={"X-Channel": "web"},
    ),
    "missing channel": BadRequest(
        "POST",
        "/sales",
        400,
        "unknown-channel",
        ("X-Channel", "web, app, pos"),
        body={"lines": [LINE]},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    ),
    "unknown channel": BadRequest(
        "POST",
        "/sales",
        400,
        "unknown-channel",
        ("fax", "web, app, pos"),
        body={"lines": [LINE]},
        headers={**headers(), "X-Channel": "fax"},
    ),
    "reservation id that is not a uuid": _bad(
        "/reservations/not-a-uuid/confirm",
        {},
        422,
        "invalid-path-parameter",
        "not-a-uuid",
        "UUID",
    ),
    "wrong content type": BadRequest(
        "POST",
        "/sales",
        415,
        "unsupported-media-type",
        ("text/plain", "application/json"),
        content=b"lines=1",
        headers={**headers(), "content-type": "text/plain"},
    ),
    "unknown route": BadRequest("GET", "/no/such/route", 404, "no-such-route", ("/no/such/route",)),
    "get on a post route": BadRequest(
        "GET",
        "/sales",
        405,
        "method-not-allowed",
        ("GET", "/sales"),
    ),
    "get on a post route that looks like a stock query": BadRequest(
        "GET",
        "/stock/receipts",
        405,
        "method-not-allowed",
        ("GET", "/stock/receipts"),
    ),
}


@pytest.fixture(scope="module")
def stocked_ledger() -> Iterator[RunningLedger]:
    with scratch_database() as url, serve(Settings(event_store_url=url)) as running:
        with httpx.Client(headers=auth_headers(), base_url=running.base_url) as client:
            stocked_sku(client, SKU, SHOP, {"B1": 5})
        yield running


def _send(client: httpx.Client, bad: BadRequest) -> httpx.Response:
    if bad.content is not None:
        return client.request(bad.method, bad.path, content=bad.content, headers=bad.headers)
    if bad.body is None:
        return client.request(bad.method, bad.path)
    return client.request(bad.method, bad.path, json=bad.body, headers=bad.headers)


@pytest.mark.parametrize("bad", BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys())
def test_a_bad_request_gets_a_problem_document_and_changes_nothing(
    stocked_ledger: RunningLedger, bad: BadRequest
) -> None:
    before = count_events(stocked_ledger.store_url)
    with httpx.Client(headers=auth_headers(), base_url=stocked_ledger.base_url) as client:
        response = _send(client, bad)

    assert response.status_code == bad.status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == f"/problems/{bad.problem}"
    assert problem["status"] == bad.status
    for fragment in bad.says:
        assert fragment in problem["detail"], problem
    assert count_events(stocked_ledger.store_url) == before


def test_a_get_on_a_post_route_says_which_methods_are_allowed(
    stocked_ledger: RunningLedger,
) -> None:
    response = httpx.get(stocked_ledger.base_url + "/sales")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


def test_an_oversized_body_sent_in_chunks_is_refused_too(stocked_ledger: RunningLedger) -> None:
    chunk = b'{"lines": [], "source_ref": "' + b"x" * 40_000

    def body() -> Iterator[bytes]:
        yield chunk
        yield b"x" * 40_000 + b'"}'

    before = count_events(stocked_ledger.store_url)
    response = httpx.post(stocked_ledger.base_url + "/sales", content=body(), headers=headers())
    assert response.status_code == 413
    assert response.json()["type"] == "/problems/body-too-large"
    assert count_events(stocked_ledger.store_url) == before
