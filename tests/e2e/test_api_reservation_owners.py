"""A reservation is confirmed or released only by the channel that placed it, by store staff
only where it holds stock, by an admin anywhere (findings 5 and 10). The writer decides it on
the reservation it decides the command on, so no check can race the reservation's placing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from configuration.settings import Settings
from tests.e2e.conftest import scratch_database
from tests.e2e.ledger_server import (
    RunningLedger,
    auth_headers,
    caller_headers,
    ok,
    receive,
    register_location,
    serve,
    stocked_sku,
)

SKU, SHOP_1, SHOP_2 = "TONER-OWN", "SHOP-1", "SHOP-2"


@pytest.fixture(scope="module")
def shop() -> Iterator[RunningLedger]:
    with scratch_database() as url, serve(Settings(event_store_url=url)) as running:
        with httpx.Client(headers=auth_headers(), base_url=running.base_url) as client:
            stocked_sku(client, SKU, SHOP_1, {"B1": 500})
            register_location(client, SHOP_2)
            receive(client, SKU, SHOP_2, "B1", 500, "2031-01-31")
        yield running


@pytest.fixture
def http(shop: RunningLedger) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=shop.base_url, timeout=60) as client:
        yield client


def _reserve(http: httpx.Client, channel: str, where: str = SHOP_1) -> str:
    body = {"lines": [{"sku": SKU, "location": where, "quantity": 1}]}
    placed = ok(http.post("/reservations", json=body, headers=caller_headers("channel", channel)))
    return str(placed["reservation_id"])


def _staff(location: str) -> dict[str, str]:
    return caller_headers("store-staff", "pos", location=location, subject=f"staff-{location}")


@pytest.mark.parametrize("action", ["confirm", "release"])
def test_a_channel_cannot_act_on_another_channels_reservation(
    http: httpx.Client, action: str
) -> None:
    rid = _reserve(http, "pos")
    refused = http.post(f"/reservations/{rid}/{action}", headers=caller_headers("channel", "web"))
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert "placed by another channel" in refused.json()["detail"]
    ok(http.post(f"/reservations/{rid}/{action}", headers=caller_headers("channel", "pos")))


def test_an_admin_may_act_on_any_channels_reservation(http: httpx.Client) -> None:
    rid = _reserve(http, "web")
    ok(http.post(f"/reservations/{rid}/release", headers=caller_headers("admin", "backoffice")))


def test_store_staff_act_on_reservations_held_at_their_own_location_only(
    http: httpx.Client,
) -> None:
    collected = _reserve(http, "web", SHOP_1)  # a web order collected in store
    ok(http.post(f"/reservations/{collected}/confirm", headers=_staff(SHOP_1)))
    elsewhere = _reserve(http, "web", SHOP_2)
    refused = http.post(f"/reservations/{elsewhere}/confirm", headers=_staff(SHOP_1))
    assert refused.status_code == 403, refused.text
    assert "SHOP-2" in refused.json()["detail"]


def test_staff_racing_a_web_reservation_elsewhere_never_sell_it(http: httpx.Client) -> None:
    """Finding 10: staff of SHOP-1 confirm a client-chosen id while web reserves it at SHOP-2.
    Whichever lands first, the confirmation is a 404 (not placed yet) or a 403 (held at
    SHOP-2), never a sale."""
    races = 30
    ids = [str(uuid.uuid4()) for _ in range(races)]

    def reserve(rid: str) -> int:
        body = {"reservation_id": rid, "lines": [{"sku": SKU, "location": SHOP_2, "quantity": 1}]}
        return http.post(
            "/reservations", json=body, headers=caller_headers("channel", "web")
        ).status_code

    def confirm(rid: str) -> int:
        return http.post(f"/reservations/{rid}/confirm", headers=_staff(SHOP_1)).status_code

    with ThreadPoolExecutor(8) as pool:
        placing = [pool.submit(reserve, rid) for rid in ids]
        confirming = [pool.submit(confirm, rid) for rid in ids for _ in range(3)]
        placed = [f.result() for f in placing]
        confirmed = [f.result() for f in confirming]
    assert placed == [201] * races
    assert set(confirmed) <= {403, 404}, confirmed
    for rid in ids:
        found = ok(http.get(f"/reservations/{rid}", headers=auth_headers()))
        assert found["status"] == "open"


def test_a_reservation_is_read_only_by_those_who_may_act_on_it(http: httpx.Client) -> None:
    rid = _reserve(http, "pos", SHOP_2)
    for caller in (caller_headers("channel", "web"), _staff(SHOP_1)):
        refused = http.get(f"/reservations/{rid}", headers=caller)
        assert refused.status_code == 403, refused.text
    for caller in (caller_headers("channel", "pos"), _staff(SHOP_2), auth_headers("auditor")):
        assert ok(http.get(f"/reservations/{rid}", headers=caller))["channel"] == "pos"
