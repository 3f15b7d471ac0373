"""Limits on what a request may carry before any rule reads it: the number and size of its
headers (431 on commands and queries alike, before the bearer token is parsed), and the
lifetime of its bearer token (401)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest

from configuration.settings import Settings
from tests.e2e.ledger_server import TEST_JWT_SECRET, RunningLedger, auth_headers, serve

SALE = {"lines": [{"sku": "NOPE", "location": "NOWHERE", "quantity": 1}]}


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLedger]:
    store: Path = tmp_path_factory.mktemp("limits") / "ledger.sqlite"
    with serve(Settings(event_store_url=f"sqlite:///{store}")) as ledger:
        yield ledger


@pytest.fixture
def http(running: RunningLedger) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=running.base_url, timeout=30) as client:
        yield client


def command_headers(**more: str) -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4()), "X-Channel": "web", **auth_headers(), **more}


def many(count: int) -> list[tuple[str, str]]:
    return [(f"x-filler-{n}", "1") for n in range(count)]


@pytest.mark.parametrize("method,path", [("GET", "/locations"), ("POST", "/sales")])
def test_too_many_headers_are_a_431_on_commands_and_queries(
    http: httpx.Client, running: RunningLedger, method: str, path: str
) -> None:
    limit = running.runtime.settings.max_header_count
    headers = [*command_headers().items(), *many(limit)]
    response = http.request(method, path, headers=headers, json=SALE if method == "POST" else None)
    assert response.status_code == 431, response.text
    assert response.json()["type"] == "/problems/headers-too-large"
    assert f"at most {limit}" in response.json()["detail"]
    within = [*command_headers().items(), *many(limit // 2)]
    answered = http.request(method, path, headers=within, json=SALE if method == "POST" else None)
    assert answered.status_code in (200, 404)


def test_a_huge_authorization_header_is_a_431_before_the_token_is_read(
    http: httpx.Client, running: RunningLedger
) -> None:
    huge = {"Authorization": "Bearer " + "a" * (running.runtime.settings.max_header_bytes + 1)}
    for method, path in (("GET", "/locations"), ("POST", "/sales")):
        response = http.request(method, path, headers={**command_headers(), **huge})
        assert response.status_code == 431, (path, response.text)


def test_a_token_valid_for_longer_than_the_maximum_lifetime_is_a_401(http: httpx.Client) -> None:
    now = int(time.time())
    forever = jwt.encode(
        {"sub": "x", "role": "admin", "iat": now, "exp": 10**20}, TEST_JWT_SECRET, "HS256"
    )
    response = http.get("/locations", headers={"Authorization": f"Bearer {forever}"})
    assert response.status_code == 401
    assert "GLOW_JWT_MAX_LIFETIME_SECONDS" in response.json()["detail"]
    day = jwt.encode(
        {"sub": "x", "role": "admin", "iat": now, "exp": now + 24 * 3600}, TEST_JWT_SECRET, "HS256"
    )
    assert http.get("/locations", headers={"Authorization": f"Bearer {day}"}).status_code == 200
