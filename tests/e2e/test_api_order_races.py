"""Sixteen clients race through a real server on PostgreSQL: split orders competing for the
last units across locations, and kits whose components are also sold alone. Never an
oversell, never a unit in two places: every unit an open fulfilment order names is held at its
location, and every unit held is named by exactly one open fulfilment order."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from configuration.settings import Settings
from tests.e2e.conftest import WRITERS
from tests.e2e.ledger_server import (
    EXPIRY_LATER,
    RunningLedger,
    auth_headers,
    headers,
    ok,
    receive,
    serve,
)

CLIENTS = 16
SKUS = ("RACE-A", "RACE-B")
KIT = "RACE-KIT"  # one A and two B
PLACES = {"WH-1": (52.0, 4.0), "WH-2": (51.0, 5.0), "ST-1": (52.3, 4.9), "ST-2": (50.8, 4.4)}
STOCK = {"RACE-A": 6, "RACE-B": 9}  # at each place
OPEN_STATES = {"open", "picking", "packed", "ready_for_pickup"}


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)
    sold_direct: Counter[tuple[str, str]] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, response: httpx.Response) -> None:
        with self.lock:
            self.statuses[response.status_code] += 1
            if response.status_code == 409:
                self.refusals[response.json()["type"]] += 1


def seed(client: httpx.Client, kit: bool) -> None:
    variants = [{"sku": sku, "price": "10.00"} for sku in (*SKUS, KIT)]
    product = {
        "product_code": "P-RACE",
        "name": "Race",
        "brand": "Glow",
        "category": "lips",
        "variants": variants,
    }
    ok(client.post("/products", json=product, headers=headers()))
    for code, (lat, lon) in PLACES.items():
        kind = "store" if code.startswith("ST") else "warehouse"
        place = {"code": code, "name": code, "kind": kind, "latitude": lat, "longitude": lon}
        ok(client.post("/locations", json=place, headers=headers()))
        for sku, units in STOCK.items():
            receive(client, sku, code, f"{sku}-{code}", units, EXPIRY_LATER)
    if kit:
        kit_body = {"sku": KIT, "components": {"RACE-A": 1, "RACE-B": 2}}
        ok(client.post("/kits", json=kit_body, headers=headers()))


def race(
    running: RunningLedger, shopper: Callable[[httpx.Client, random.Random, Tally], None]
) -> Tally:
    tally = Tally()
    start = threading.Barrier(CLIENTS)

    def run(seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=running.base_url, headers=auth_headers(), timeout=60) as c:
            start.wait()
            shopper(c, rng, tally)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return tally


def split_orders(client: httpx.Client, rng: random.Random, tally: Tally) -> None:
    for _ in range(12):
        lines = [{"sku": "RACE-A", "quantity": rng.randint(1, 5)}]
        lines.append({"sku": "RACE-B", "quantity": rng.randint(1, 6)})
        lat, lon = rng.uniform(50.5, 52.5), rng.uniform(3.5, 5.5)
        body = {"lines": lines, "delivery": {"method": "ship", "latitude": lat, "longitude": lon}}
        response = client.post("/orders", json=body, headers=headers())
        tally.record(response)
        if response.status_code != 201:
            continue
        base = f"/orders/{response.json()['order_id']}"
        roll = rng.random()
        if roll < 0.2:
            tally.record(client.post(f"{base}/cancel", json={}, headers=headers()))
        elif roll < 0.4 and lines[0]["quantity"] > 1:
            cut = {"lines": {"L1": 1}}
            tally.record(client.post(f"{base}/lines/cancel", json=cut, headers=headers()))
        elif roll < 0.5:
            step = {"step": "picking"}
            tally.record(client.post(f"{base}/fulfilments/F1/steps", json=step, headers=headers()))


def kits_and_singles(client: httpx.Client, rng: random.Random, tally: Tally) -> None:
    for _ in range(15):
        if rng.random() < 0.5:
            body = {
                "lines": [{"sku": KIT, "quantity": rng.randint(1, 3)}],
                "delivery": {"method": "ship", "latitude": 51.5, "longitude": 4.5},
            }
            tally.record(client.post("/orders", json=body, headers=headers()))
        else:
            sku, where, units = rng.choice(SKUS), rng.choice(list(PLACES)), rng.randint(1, 3)
            sale = {"lines": [{"sku": sku, "location": where, "quantity": units}]}
            response = client.post("/sales", json=sale, headers=headers(channel="pos"))
            tally.record(response)
            if response.status_code == 200:
                with tally.lock:
                    tally.sold_direct[sku, where] += units


def every_order(client: httpx.Client) -> list[dict[str, Any]]:
    """Every order placed: listed from the order view once it has caught up with the race,
    then each read from the ledger (with its fulfilment orders' batches)."""
    deadline = time.monotonic() + 30
    while ok(client.get("/orders", params={"limit": 1}))["log"]["behind"]:
        assert time.monotonic() < deadline, "the order view did not catch up"
        time.sleep(0.05)
    found: list[str] = []
    after = 0
    while True:
        page = ok(client.get("/orders", params={"after": after, "limit": 200}))
        found += [order["order_id"] for order in page["orders"]]
        if page["next_after"] is None:
            return [ok(client.get(f"/orders/{order_id}")) for order_id in found]
        after = page["next_after"]


def stock_figures(client: httpx.Client) -> dict[tuple[str, str], dict[str, int]]:
    figures = {}
    for sku in SKUS:
        for place in ok(client.get(f"/skus/{sku}/stock"))["locations"]:
            figures[sku, place["location"]] = place
    return figures


def assert_every_unit_in_one_place(client: httpx.Client) -> list[dict[str, Any]]:
    """Units open fulfilment orders name, per (SKU, location), are exactly the units held."""
    orders = every_order(client)
    named: Counter[tuple[str, str]] = Counter()
    for order in orders:
        for fulfilment in order["fulfilments"]:
            if fulfilment["status"] not in OPEN_STATES:
                continue
            for item in fulfilment["lines"]:
                assert sum(item["batches"].values()) == item["quantity"]
                named[item["sku"], fulfilment["location"]] += item["quantity"]
    for key, place in stock_figures(client).items():
        assert 0 <= place["reserved"] <= place["on_hand"], (key, place)
        assert place["available"] >= 0
        assert place["reserved"] == named[key], (key, place["reserved"], named[key])
    return orders


@WRITERS
def test_sixteen_clients_placing_split_orders_never_oversell(
    ledger: RunningLedger, client: httpx.Client
) -> None:
    seed(client, kit=False)
    tally = race(ledger, split_orders)
    assert set(tally.statuses) <= {200, 201, 409}, tally.statuses
    assert set(tally.refusals) <= {"/problems/cannot-source", "/problems/order-state"}
    assert tally.refusals["/problems/cannot-source"], "demand should outrun the stock"
    orders = assert_every_unit_in_one_place(client)
    assert any(len(o["fulfilments"]) > 1 for o in orders), "some orders should be split"
    for (sku, _), place in stock_figures(client).items():
        assert place["on_hand"] == STOCK[sku]  # nothing shipped: every unit still on a shelf


@WRITERS
def test_kits_racing_their_components_sold_alone_take_every_component_or_none(
    ledger: RunningLedger, client: httpx.Client
) -> None:
    seed(client, kit=True)
    tally = race(ledger, kits_and_singles)
    assert set(tally.statuses) <= {200, 201, 409}, tally.statuses
    orders = assert_every_unit_in_one_place(client)
    for order in orders:
        (line,) = order["lines"]
        units: Counter[str] = Counter()
        for fulfilment in order["fulfilments"]:
            for item in fulfilment["lines"]:
                units[item["sku"]] += item["quantity"]
        assert units == {"RACE-A": line["quantity"], "RACE-B": 2 * line["quantity"]}
    for (sku, where), place in stock_figures(client).items():
        assert place["on_hand"] == STOCK[sku] - tally.sold_direct[sku, where]


@pytest.fixture
def ledger(postgres_store: str, writer_process: bool) -> Iterator[RunningLedger]:
    """A server with the writer in-process or in a process of its own, and the order view
    in process (the race's orders are listed from it)."""
    views = "memory://"
    settings = Settings(postgres_store, writer_process=writer_process, hot_views_url=views)
    with serve(settings) as running:
        yield running
