"""A channel's available-to-sell over HTTP on PostgreSQL with the hot views in Redis: by default
projected (with the read model's lag), on request the ledger's; a rule changed over HTTP is
followed by the view; kits count whole kits; bad input is a clear 4xx problem."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from configuration.settings import Settings
from projections.redis_views import RedisHotViews
from tests.e2e.conftest import scratch_database
from tests.e2e.ledger_server import (
    EXPIRY_LATER,
    EXPIRY_SOON,
    RunningLedger,
    auth_headers,
    define_sku,
    ok,
    post,
    receive,
    register_location,
    serve,
    token,
)

LIP, SERUM, GIFT = "LIP-1", "SERUM-1", "GIFT-1"
NORTH, SOUTH = "WH-NORTH", "WH-SOUTH"
LEDGER = {"consistency": "ledger"}


@pytest.fixture
def namespace() -> str:
    return f"glow-test-{secrets.token_hex(4)}"


@pytest.fixture
def running(redis_url: str, namespace: str) -> Iterator[RunningLedger]:
    with scratch_database() as store_url:
        hot_views = f"{redis_url}?namespace={namespace}"
        settings = Settings(event_store_url=store_url, hot_views_url=hot_views, analytics_url="")
        with serve(settings) as ledger:
            yield ledger
        RedisHotViews.from_url(redis_url, namespace).drop_everything()


@pytest.fixture
def client(running: RunningLedger) -> Iterator[httpx.Client]:
    """LIP: 5 north (long dated), 4 south (expiring soon); SERUM: 6 south; GIFT: 1 LIP and
    2 SERUM."""
    with httpx.Client(headers=auth_headers(), base_url=running.base_url, timeout=30) as http:
        for sku in (LIP, SERUM, GIFT):
            define_sku(http, sku)
        register_location(http, NORTH)
        register_location(http, SOUTH)
        receive(http, LIP, NORTH, "N1", 5, EXPIRY_LATER)
        receive(http, LIP, SOUTH, "S1", 4, EXPIRY_SOON)
        receive(http, SERUM, SOUTH, "U1", 6, EXPIRY_LATER)
        ok(post(http, "/kits", {"sku": GIFT, "components": {LIP: 1, SERUM: 2}}))
        yield http


def caught_up(client: httpx.Client, path: str, **params: Any) -> dict[str, Any]:
    """The projected answer once the read model has every event the ledger holds."""
    deadline = time.monotonic() + 20
    while True:
        body = ok(client.get(path, params=params))
        assert body["source"] == "projected", body
        if body["log"]["behind"] == 0 or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def units(client: httpx.Client, channel: str, sku: str) -> tuple[int, int]:
    """(projected once caught up, the ledger's) available-to-sell."""
    path = f"/channels/{channel}/availability/{sku}"
    projected = caught_up(client, path)
    ledger = ok(client.get(path, params=LEDGER))
    assert ledger["source"] == "ledger" and "log" not in ledger
    assert projected["log"]["behind"] == 0 and projected["log"]["head"] > 0
    return projected["available_to_sell"], ledger["available_to_sell"]


def test_a_rule_changed_over_http_is_followed_by_the_projected_availability(
    client: httpx.Client, redis_url: str, namespace: str
) -> None:
    assert units(client, "marketplace", LIP) == (9, 9)
    rules = {"sell_from": [NORTH], "safety_buffers": {LIP: 2}}
    ok(post(client, "/channels/marketplace/rules", rules))
    assert units(client, "marketplace", LIP) == (3, 3)  # north only: 5 - 2
    ok(post(client, "/channels/web/rules", {"ring_fenced_pools": {LIP: 1}}))
    assert units(client, "marketplace", LIP) == (2, 2)  # the web's pool is kept from it
    assert units(client, "web", LIP) == (9, 9)  # its own pool is its own
    ok(post(client, "/channels/app/rules", {"min_shelf_life_days": 3650}))
    assert units(client, "app", LIP) == (0, 0)  # nothing keeps ten years
    stored = RedisHotViews.from_url(redis_url, namespace).read(["channel:marketplace"])
    view = stored["channel:marketplace"]
    assert view is not None
    assert view["locations"] == [NORTH] and view["safety_buffers"] == {LIP: 2}


def test_a_page_of_skus_at_once_counts_kits_in_whole_kits(client: httpx.Client) -> None:
    caught_up(client, f"/channels/web/availability/{LIP}")
    path = "/channels/web/availability"
    page = ok(client.get(path, params=[("sku", GIFT), ("sku", LIP), ("skus", f"{SERUM},{LIP}")]))
    expected = [(GIFT, 3), (LIP, 9), (SERUM, 6)]  # a gift takes 2 of the 6 serums
    assert [(s["sku"], s["available_to_sell"]) for s in page["skus"]] == expected
    assert page["channel"] == "web" and page["source"] == "projected"
    ledger = ok(client.get(path, params={"skus": f"{GIFT},{LIP},{SERUM}", **LEDGER}))
    assert ledger["skus"] == page["skus"] and ledger["source"] == "ledger"
    ok(post(client, "/kits", {"sku": GIFT, "components": {LIP: 3}}))
    assert units(client, "web", GIFT) == (3, 3)  # recomposed: 9 // 3


@pytest.mark.parametrize("consistency", ["projected", "ledger"])
def test_bad_input_is_a_clear_4xx_problem(client: httpx.Client, consistency: str) -> None:
    asked: dict[str, Any] = {"consistency": consistency}
    cases: list[tuple[str, Any, int, str, str]] = [
        ("/channels/nowhere/availability/LIP-1", asked, 404, "unknown-channel", "expected one"),
        ("/channels/web/availability/NOPE-9", asked, 404, "unknown-sku", "'NOPE-9'"),
        ("/channels/web/availability", [("sku", LIP), ("sku", "NOPE-9"), *asked.items()], 404,
         "unknown-sku", "'NOPE-9'"),
        ("/channels/web/availability", asked, 422, "invalid-query", "no SKU given"),
        ("/channels/web/availability", {"skus": ",".join(f"S-{n}" for n in range(101)), **asked},
         422, "invalid-query", "1 to 100"),
        ("/channels/web/availability", [*(("sku", f"S-{n}") for n in range(101)),
         *asked.items()], 422, "invalid-query", "101 values of sku"),
        ("/channels/web/availability", [*(("sku", f"S-{n}") for n in range(60)),
         ("skus", ",".join(f"T-{n}" for n in range(60))), *asked.items()], 422,
         "invalid-query", "120 SKUs asked"),
        ("/channels/web/availability", {"sku": "not a code", **asked}, 422, "invalid-query",
         "expected 1 to 100 codes"),
        ("/channels/web/availability/LIP-1", {"consistency": "eventual"}, 422, "invalid-query",
         "one of projected, ledger"),
    ]  # fmt: skip
    for path, params, status, kind, said in cases:
        response = client.get(path, params=params)
        assert response.status_code == status, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["type"] == f"/problems/{kind}" and said in problem["detail"], problem


def test_a_channel_token_reads_its_own_channel_only(client: httpx.Client) -> None:
    web = {"Authorization": f"Bearer {token('channel', channel='web')}"}
    own = client.get(f"/channels/web/availability/{LIP}", headers=web)
    assert own.status_code == 200 and own.json()["sku"] == LIP
    for path in (f"/channels/marketplace/availability/{LIP}", "/channels/app/availability"):
        refused = client.get(path, params={"sku": LIP}, headers=web)
        assert refused.status_code == 403, refused.text
        assert "reads its own channel's availability" in refused.json()["detail"]
