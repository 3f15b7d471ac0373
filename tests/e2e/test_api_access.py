"""Who may call what: every route of the app against every role, generated from the app's own
route list and the rule table, so a route added without a rule fails here. Then the attribute
rules (own customer, own location, own channel, pii:read) and bad tokens."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from starlette.routing import Route

from api.access_rules import ACCESS_RULES, EXPENSIVE_READS
from api.app import app_routes as all_app_routes
from api.auth import ROLES
from configuration.settings import Settings
from tests.e2e.ledger_server import TEST_JWT_SECRET, RunningLedger, serve, token

CUSTOMER = str(uuid.uuid4())
CLAIMS: dict[str, dict[str, Any]] = {
    "channel": {"channel": "web"},
    "store-staff": {"channel": "pos", "location": "SHOP-1"},
    "customer": {"channel": "web", "customer_id": CUSTOMER},
    "auditor": {},
    "analyst": {},
    "operator": {},
    "admin": {},
}
PATH_VALUES = {
    "customer_id": CUSTOMER,
    "location": "SHOP-1",
    "sku": "SKU-1",
    "product_code": "P-1",
    "reservation_id": str(uuid.uuid4()),
    "preorder_id": str(uuid.uuid4()),
    "transfer_id": str(uuid.uuid4()),
    "kind": "stock",
    "key": "SKU-1@SHOP-1",
    "batch": "B1",
    "order_id": str(uuid.uuid4()),
    "fulfilment_id": "F1",
    "rma_id": "R1",
    "channel": "web",
    "name": "zalando",
    "subscription_id": str(uuid.uuid4()),
    "till": "TILL-1",
    "journal_id": "J-1",
    "asset": "swagger-ui.css",
    "promotion_id": str(uuid.uuid4()),
    "experiment_id": str(uuid.uuid4()),
    "suggestion_id": str(uuid.uuid4()),
}


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLedger]:
    store = tmp_path_factory.mktemp("access") / "ledger.sqlite"
    with serve(Settings(event_store_url=f"sqlite:///{store}")) as running:
        yield running


@pytest.fixture
def app_client(running: RunningLedger) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=running.base_url, timeout=30) as client:
        yield client


def app_routes() -> list[tuple[str, str]]:
    return sorted(
        (method, route.path)
        for route in all_app_routes()
        if isinstance(route, Route)
        for method in (route.methods or set()) - {"HEAD"}
    )


ROUTES = app_routes()


# POSTs a customer may send about themselves only, checked on each event's customer_id in the
# body (tests/e2e/test_api_track.py: another customer's id is a 403).
OWN_ON_THE_BODY = {"/track", "/track/batch"}


def test_every_route_has_an_access_rule_and_every_rule_a_route() -> None:
    missing = [key for key in ROUTES if key not in ACCESS_RULES]
    assert missing == [], f"routes without an access rule: {missing}"
    assert sorted(set(ACCESS_RULES) - set(ROUTES)) == []
    assert sorted(EXPENSIVE_READS - set(ROUTES)) == []  # the concurrency limit names real routes


def test_the_rules_keep_the_roles_promises() -> None:
    """Independent of the table's details: what each role is for, from the issue."""
    for (method, path), access in ACCESS_RULES.items():
        if access.public or access.signed:
            continue
        assert "admin" in access.roles, (method, path)
        if method != "GET":
            assert not {"auditor", "analyst"} & access.roles, (method, path)
        if path.startswith("/customers"):
            assert "analyst" not in access.roles, (method, path)  # read models only, no PII
        if "customer" in access.roles and "{customer_id}" in path:
            assert access.own_customer, (method, path)
        if "customer" in access.roles and path not in OWN_ON_THE_BODY:
            assert path.startswith("/customers/") or method == "GET", (method, path)


def call(client: httpx.Client, method: str, path: str, role: str | None, **extra: Any) -> int:
    url = path.format(**PATH_VALUES)
    headers = {"Idempotency-Key": str(uuid.uuid4()), "X-Channel": "web"}
    if role is not None:
        claims = {**CLAIMS[role], **extra}
        headers["Authorization"] = f"Bearer {token(role, **claims)}"
        headers["X-Channel"] = claims.get("channel", "web")
    response = client.request(method, url, json={} if method == "POST" else None, headers=headers)
    return response.status_code


@pytest.mark.parametrize("method,path", ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_each_role_is_allowed_or_refused_as_the_rule_says(
    app_client: httpx.Client, method: str, path: str
) -> None:
    access = ACCESS_RULES.get((method, path))
    assert access is not None, f"{method} {path} has no access rule"
    outcomes = {role: call(app_client, method, path, role) for role in ROLES}
    anonymous = call(app_client, method, path, None)
    if access.public:
        assert anonymous not in (401, 403) and all(s not in (401, 403) for s in outcomes.values())
        return
    assert anonymous == 401
    if access.signed:  # a bearer token is no signature: every caller is refused alike
        assert set(outcomes.values()) == {401}, outcomes
        return
    expected = {
        role: role in access.roles
        and not (access.needs_pii and role == "auditor")
        and not (
            role == "channel" and access.channels and CLAIMS[role]["channel"] not in access.channels
        )
        for role in ROLES
    }
    got = {role: status not in (401, 403) for role, status in outcomes.items()}
    assert got == expected, outcomes


CUSTOMER_ROUTES = [
    (m, p) for m, p in ROUTES if getattr(ACCESS_RULES.get((m, p)), "own_customer", 0)
]


@pytest.mark.parametrize(
    "method,path", CUSTOMER_ROUTES, ids=[f"{m} {p}" for m, p in CUSTOMER_ROUTES]
)
def test_a_customer_is_refused_another_customers_profile(
    app_client: httpx.Client, method: str, path: str
) -> None:
    assert call(app_client, method, path, "customer", customer_id=str(uuid.uuid4())) == 403


def test_store_staff_are_refused_another_locations_stock_and_commands(
    app_client: httpx.Client,
) -> None:
    assert (
        call(app_client, "GET", "/skus/{sku}/stock/{location}", "store-staff", location="X") == 403
    )
    sale = {"lines": [{"sku": "SKU-1", "location": "SHOP-2", "quantity": 1}]}
    headers = {
        "Idempotency-Key": str(uuid.uuid4()),
        "X-Channel": "pos",
        "Authorization": f"Bearer {token('store-staff', **CLAIMS['store-staff'])}",
    }
    refused = app_client.post("/sales", json=sale, headers=headers)
    assert refused.status_code == 403 and "SHOP-2" in refused.json()["detail"]
    own = {"lines": [{"sku": "SKU-1", "location": "SHOP-1", "quantity": 1}]}
    headers["Idempotency-Key"] = str(uuid.uuid4())
    assert app_client.post("/sales", json=own, headers=headers).status_code == 404  # no such SKU


def test_a_channel_token_may_not_act_for_another_channel(app_client: httpx.Client) -> None:
    headers = {
        "Idempotency-Key": str(uuid.uuid4()),
        "X-Channel": "marketplace",
        "Authorization": f"Bearer {token('channel', channel='web')}",
    }
    response = app_client.post("/sales", json={"lines": []}, headers=headers)
    assert response.status_code == 403 and "'web'" in response.json()["detail"]


def test_an_auditor_with_pii_read_may_export_and_one_without_sees_redacted_profiles(
    app_client: httpx.Client,
) -> None:
    assert call(app_client, "GET", "/customers/{customer_id}/export", "auditor") == 403
    status = call(app_client, "GET", "/customers/{customer_id}/export", "auditor", scope="pii:read")
    assert status == 404  # allowed through; the customer does not exist


def _token(claims: dict[str, Any], secret: str = TEST_JWT_SECRET, algorithm: str = "HS256") -> str:
    now = int(time.time())
    return jwt.encode({"iat": now, "exp": now + 60, **claims}, secret, algorithm=algorithm)


BAD_TOKENS = {
    "forged": _token({"sub": "x", "role": "admin"}, secret="not-the-server-secret-at-all-000"),
    "expired": _token({"sub": "x", "role": "admin", "exp": int(time.time()) - 3600}),
    "unsigned": jwt.encode({"sub": "x", "role": "admin", "exp": 2**40}, None, algorithm="none"),
    "malformed": "not.a.token",
    "unknown role": _token({"sub": "x", "role": "superuser"}),
    "customer without customer_id": _token({"sub": "x", "role": "customer"}),
    "no expiry": jwt.encode({"sub": "x", "role": "admin"}, TEST_JWT_SECRET, algorithm="HS256"),
}


@pytest.mark.parametrize("bad", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
def test_a_bad_token_is_refused_with_401_and_records_nothing(
    app_client: httpx.Client, running: RunningLedger, bad: str
) -> None:
    ledger = running.runtime.ledger
    before = ledger.recorder.max_notification_id()
    body = {"code": "SHOP-9", "name": "x", "kind": "store", "latitude": 1.0, "longitude": 1.0}
    headers = {"Idempotency-Key": str(uuid.uuid4()), "X-Channel": "web"}
    response = app_client.post(
        "/locations", json=body, headers={**headers, "Authorization": f"Bearer {bad}"}
    )
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["type"] == "/problems/unauthenticated"
    assert ledger.recorder.max_notification_id() == before


def test_the_embedded_store_keeps_its_development_secret_beside_it(tmp_path: Path) -> None:
    from api.auth import jwt_secret

    settings = Settings(event_store_url=f"sqlite:///{tmp_path}/ledger.sqlite")
    assert jwt_secret(settings) == jwt_secret(settings)
    assert (tmp_path / "glow-jwt.secret").stat().st_mode & 0o077 == 0
