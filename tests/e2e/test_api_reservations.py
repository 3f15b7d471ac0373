"""Reservations over HTTP: all lines or none, and holds that lapse by themselves."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from eventsourcing.utils import get_topic

from configuration.settings import Settings
from domain.reservation import Reservation
from domain.stock import Stock
from tests.e2e.ledger_server import (
    RunningLedger,
    auth_headers,
    count_events,
    define_sku,
    headers,
    receive,
    register_location,
    serve,
    stocked_sku,
    unmet_demand,
)

SKU, SHOP = "BLUSH-TTL", "LILLE-1"


@pytest.fixture(params=[False, True], ids=["writer-thread", "writer-process"])
def swept_ledger(postgres_store: str, request: pytest.FixtureRequest) -> Iterator[RunningLedger]:
    settings = Settings(
        event_store_url=postgres_store, sweep_interval_seconds=0.2, writer_process=request.param
    )
    with serve(settings) as running:
        yield running


def _wait_for_status(client: httpx.Client, reservation_id: str, status: str) -> None:
    deadline = time.monotonic() + 10
    while client.get(f"/reservations/{reservation_id}").json()["status"] != status:
        assert time.monotonic() < deadline, f"reservation never became {status}"
        time.sleep(0.05)


def _topics_logged(running: RunningLedger) -> list[str]:
    recorder = running.runtime.ledger.recorder
    return [n.topic for n in recorder.select_notifications(1, 10_000)]


def test_a_reservation_lapses_by_itself_and_frees_its_stock(
    swept_ledger: RunningLedger,
) -> None:
    with httpx.Client(headers=auth_headers(), base_url=swept_ledger.base_url) as client:
        stocked_sku(client, SKU, SHOP, {"B1": 5})
        lines = [{"sku": SKU, "location": SHOP, "quantity": 5}]
        placed = client.post(
            "/reservations", json={"lines": lines, "ttl_seconds": 1}, headers=headers()
        )
        assert placed.status_code == 201
        reservation_id = placed.json()["reservation_id"]
        assert client.get(f"/skus/{SKU}/stock").json()["available"] == 0

        _wait_for_status(client, reservation_id, "expired")

        stock = client.get(f"/skus/{SKU}/stock").json()
        assert (stock["available"], stock["reserved"], stock["on_hand"]) == (5, 0, 5)
        topics = _topics_logged(swept_ledger)
        assert topics.count(get_topic(Reservation.Expired)) == 1
        assert topics.count(get_topic(Stock.ReservationExpired)) == 1

        before = count_events(swept_ledger.store_url)
        confirm = client.post(f"/reservations/{reservation_id}/confirm", json={}, headers=headers())
        assert confirm.status_code == 409
        assert confirm.json()["type"] == "/problems/reservation-expired"
        assert "expired" in confirm.json()["detail"]
        assert confirm.json()["status"] == 409
        assert confirm.json()["reservation_status"] == "expired"
        assert count_events(swept_ledger.store_url) == before


def test_an_overdue_reservation_cannot_be_confirmed_before_the_sweeper_comes(
    ledger: RunningLedger, client: httpx.Client
) -> None:
    stocked_sku(client, SKU, SHOP, {"B1": 5})
    lines = [{"sku": SKU, "location": SHOP, "quantity": 2}]
    body = {"lines": lines, "ttl_seconds": 1}
    reservation_id = client.post("/reservations", json=body, headers=headers()).json()[
        "reservation_id"
    ]
    time.sleep(1.1)
    before = count_events(ledger.store_url)

    confirm = client.post(f"/reservations/{reservation_id}/confirm", json={}, headers=headers())

    assert confirm.status_code == 409
    assert confirm.json()["type"] == "/problems/reservation-expired"
    assert count_events(ledger.store_url) == before


@pytest.mark.parametrize("path", ["/reservations", "/sales"])
def test_two_lines_where_the_second_is_short_take_nothing_from_the_first(
    ledger: RunningLedger, client: httpx.Client, path: str
) -> None:
    stocked_sku(client, "TONER-A", "WAREHOUSE-1", {"A1": 5})
    define_sku(client, "CREAM-B")
    register_location(client, "STORE-2")
    receive(client, "CREAM-B", "STORE-2", "B1", 1, "2031-01-31")
    before = count_events(ledger.store_url)
    lines = [
        {"sku": "TONER-A", "location": "WAREHOUSE-1", "quantity": 3},
        {"sku": "CREAM-B", "location": "STORE-2", "quantity": 2},
    ]

    response = client.post(path, json={"lines": lines}, headers=headers())

    assert response.status_code == 409
    problem = response.json()
    assert problem["type"] == "/problems/insufficient-stock"
    assert (problem["sku"], problem["available"], problem["requested"]) == ("CREAM-B", 1, 2)
    (demand,) = unmet_demand(ledger)  # the one event recorded: the demand it could not meet
    assert (demand.sku, demand.location, demand.asked, demand.short) == ("CREAM-B", "STORE-2", 2, 1)
    assert count_events(ledger.store_url) == before + 1
    toner = client.get("/skus/TONER-A/stock").json()
    assert (toner["available"], toner["reserved"], toner["on_hand"]) == (5, 0, 5)
    assert client.get("/skus/CREAM-B/stock").json()["available"] == 1
