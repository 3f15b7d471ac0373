"""The command gateway (api/command_gateway.py) answers exactly as the Starlette stack behind
it would: same statuses, same problem documents, same access refusals."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from api.app import GlowApp
from tests.e2e.ledger_server import RunningLedger, auth_headers, headers, stocked_sku

SKU, SHOP = "GATEWAY-SERUM", "GW-1"
LINE = {"sku": SKU, "location": SHOP, "quantity": 1}

# Refusals only: each leaves the store as it was, so both paths see the same state.
REQUESTS: dict[str, tuple[str, dict[str, str] | None, Any, bytes | None]] = {
    "no token": ("/sales", {"Idempotency-Key": "k", "X-Channel": "web"}, {"lines": [LINE]}, None),
    "wrong role": (
        "/sales",
        {"Idempotency-Key": "k", "X-Channel": "web", **auth_headers("auditor")},
        {"lines": [LINE]},
        None,
    ),
    "store staff elsewhere": (
        "/sales",
        {"X-Channel": "pos", **auth_headers("store-staff", location="OTHER", channel="pos")},
        {"lines": [LINE]},
        None,
    ),
    "no idempotency key": ("/sales", {"X-Channel": "web", **auth_headers()}, {"lines": []}, None),
    "malformed json": ("/sales", None, None, b'{"lines": ['),
    "invalid field": ("/sales", None, {"lines": [{**LINE, "quantity": 0}]}, None),
    "unknown sku": ("/sales", None, {"lines": [{**LINE, "sku": "NOPE"}]}, None),
    "too many": ("/sales", None, {"lines": [{**LINE, "quantity": 10_000}]}, None),
    "bad path parameter": ("/reservations/not-a-uuid/confirm", None, {}, None),
    "unknown reservation": (
        "/reservations/00000000-0000-4000-8000-000000000000/confirm",
        None,
        {},
        None,
    ),
}


def _send(client: httpx.Client, name: str) -> tuple[int, str, Any]:
    path, given, body, content = REQUESTS[name]
    sent_headers = given if given is not None else headers("same-key-" + name)
    if content is not None:
        sent_headers = {**sent_headers, "content-type": "application/json"}
        response = client.post(path, content=content, headers=sent_headers)
    else:
        response = client.post(path, json=body, headers=sent_headers)
    return response.status_code, response.headers["content-type"], response.json()


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_the_gateway_refuses_as_starlette_does(ledger: RunningLedger, name: str) -> None:
    with httpx.Client(base_url=ledger.base_url) as client:
        stocked_sku(client, SKU, SHOP, {"B1": 3})
        through_gateway = _send(client, name)
        app = _app(ledger)
        gateway, app.gateway = app.gateway, None
        try:
            through_starlette = _send(client, name)
        finally:
            app.gateway = gateway

    assert through_gateway[0] >= 400
    assert through_gateway == through_starlette


def test_the_gateway_serves_the_command_routes(ledger: RunningLedger) -> None:
    app = _app(ledger)
    assert app.gateway is not None
    for path in ("/sales", "/reservations", "/reservations/{reservation_id}/confirm"):
        scope = {"type": "http", "method": "POST", "path": path.replace("{reservation_id}", "x")}
        assert app.gateway.match(scope) is not None, path
    assert app.gateway.match({"type": "http", "method": "POST", "path": "/customers"}) is None


def _app(ledger: RunningLedger) -> GlowApp:
    app = ledger.app
    assert isinstance(app, GlowApp)
    return app
