"""Sixteen clients race for the last units of one SKU through a real server."""

from __future__ import annotations

import random
import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from eventsourcing.utils import get_topic

from domain.stock import Stock
from tests.e2e.conftest import WRITERS
from tests.e2e.ledger_server import RunningLedger, auth_headers, headers, stocked_sku

SKU, SHOP = "LIP-RACE", "PARIS-1"
CLIENTS = 16


@dataclass
class Tally:
    reserved: int = 0
    sold_direct: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    refusals: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, response: httpx.Response) -> None:
        with self.lock:
            self.statuses[response.status_code] += 1
            if response.status_code == 409:
                self.refusals.append(response.json())


def _shop(base_url: str, seed: int, tally: Tally, start: threading.Barrier) -> None:
    rng = random.Random(seed)
    line = {"sku": SKU, "location": SHOP}
    with httpx.Client(headers=auth_headers(), base_url=base_url, timeout=30) as client:
        start.wait()
        for _ in range(60):
            quantity = rng.choice([1, 2, 3])
            lines = [{**line, "quantity": quantity}]
            if rng.random() < 0.5:
                response = client.post("/sales", json={"lines": lines}, headers=headers())
                tally.record(response)
                if response.status_code == 200:
                    with tally.lock:
                        tally.sold_direct += quantity
            else:
                response = client.post("/reservations", json={"lines": lines}, headers=headers())
                tally.record(response)
                if response.status_code == 201:
                    with tally.lock:
                        tally.reserved += quantity
                    if rng.random() < 0.6:
                        reservation = response.json()["reservation_id"]
                        path = f"/reservations/{reservation}/confirm"
                        tally.record(client.post(path, json={}, headers=headers()))
            if response.status_code == 409 and quantity == 1:
                return  # nothing is ever released here, so none will come back


def _units_in_events(running: RunningLedger) -> tuple[int, int, int]:
    """Units sold, units ever reserved, and units sold out of reservations, from the log."""
    ledger = running.runtime.ledger
    topics = [get_topic(Stock.Sold), get_topic(Stock.Reserved)]
    sold = reserved = sold_reserved = 0
    for notification in ledger.recorder.select_notifications(1, 100_000, topics=topics):
        event = ledger.mapper.to_domain_event(notification)
        units = sum(event.allocations.values())  # type: ignore[attr-defined]
        if isinstance(event, Stock.Sold):
            sold += units
            sold_reserved += units if event.reservation_id is not None else 0
        else:
            reserved += units
    return sold, reserved, sold_reserved


@WRITERS
def test_sixteen_clients_never_sell_or_reserve_more_than_the_hundred_units_held(
    ledger: RunningLedger, client: httpx.Client
) -> None:
    stocked_sku(client, SKU, SHOP, {"B-EARLY": 60, "B-LATE": 40})
    tally = Tally()
    start = threading.Barrier(CLIENTS)
    shoppers = [
        threading.Thread(target=_shop, args=(ledger.base_url, seed, tally, start))
        for seed in range(CLIENTS)
    ]
    for shopper in shoppers:
        shopper.start()
    for shopper in shoppers:
        shopper.join(60)

    assert set(tally.statuses) <= {200, 201, 409}, tally.statuses
    assert tally.reserved + tally.sold_direct == 100
    for refusal in tally.refusals:
        assert refusal["type"] == "/problems/insufficient-stock", refusal
        assert refusal["status"] == 409
        assert 0 <= refusal["available"] < refusal["requested"]

    assert tally.refusals, "demand should have outrun the hundred units"
    stock = client.get(f"/skus/{SKU}/stock").json()
    sold_by_stock = 100 - stock["on_hand"]
    assert sold_by_stock + stock["reserved"] == 100
    assert stock["available"] == 0

    sold, reserved, sold_reserved = _units_in_events(ledger)
    assert sold == sold_by_stock
    assert sold + (reserved - sold_reserved) == 100
    assert reserved - sold_reserved == stock["reserved"]


@WRITERS
def test_a_refused_sale_names_the_problem_and_what_is_available(
    ledger: RunningLedger, client: httpx.Client
) -> None:
    stocked_sku(client, SKU, SHOP, {"B-EARLY": 2})
    lines = [{"sku": SKU, "location": SHOP, "quantity": 3}]
    sale = {"sale_id": str(uuid.uuid4()), "lines": lines}
    response = client.post("/sales", json=sale, headers=headers())
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "/problems/insufficient-stock"
    assert (problem["available"], problem["requested"]) == (2, 3)
    assert "only 2 unit(s)" in problem["detail"]


@pytest.fixture
def ledger(either_ledger: RunningLedger) -> RunningLedger:
    return either_ledger
