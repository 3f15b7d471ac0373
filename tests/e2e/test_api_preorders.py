"""Pre-orders over HTTP: the switch, waiting, allocation on receipt in placement order, a late
or cancelled shipment, every refusal a clear problem with nothing recorded; and sixteen
clients pre-ordering while the shipment is received in parts."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from eventsourcing.utils import get_topic

from domain.stock import Stock
from tests.e2e.conftest import WRITERS
from tests.e2e.ledger_server import (
    EXPIRY_LATER,
    RunningLedger,
    auth_headers,
    caller_headers,
    headers,
    ok,
    post,
    refused,
    stocked_sku,
)

SKU, SHOP, SHIPMENT = "SERUM-PRE", "NANTES-1", "ASN-77"
CLIENTS = 16
TALLY_LOCK = threading.Lock()


def _expect(client: httpx.Client, quantity: int, ref: str = SHIPMENT) -> None:
    expected_on = (datetime.now(tz=UTC) + timedelta(days=10)).date().isoformat()
    body = {
        "sku": SKU,
        "location": SHOP,
        "shipment_ref": ref,
        "quantity": quantity,
        "expected_on": expected_on,
    }
    ok(post(client, "/stock/expected-shipments", body))


def _shop(client: httpx.Client, expected: int = 10) -> None:
    stocked_sku(client, SKU, SHOP, {})
    _expect(client, expected)
    ok(post(client, f"/skus/{SKU}/preorders", {"channel": "web", "allowed": True}))


def _preorder(quantity: int, ref: str = SHIPMENT) -> dict[str, Any]:
    return {"sku": SKU, "location": SHOP, "shipment_ref": ref, "quantity": quantity}


def _receipt(quantity: int, batch: str = "B-NEW") -> dict[str, Any]:
    return {
        "sku": SKU,
        "location": SHOP,
        "batch": batch,
        "expiry": EXPIRY_LATER,
        "quantity": quantity,
        "shipment_ref": SHIPMENT,
    }


def test_preorders_wait_then_are_allocated_in_placement_order(
    ledger: RunningLedger, client: httpx.Client
) -> None:
    _shop(client)
    first = ok(post(client, "/preorders", _preorder(4)))
    second = ok(post(client, "/preorders", _preorder(5)))
    assert (first["status"], second["status"]) == ("waiting", "waiting")
    stock = client.get(f"/skus/{SKU}/stock/{SHOP}").json()
    assert (stock["incoming"], stock["preordered"], stock["available"]) == (10, 9, 0)

    waiting = refused(ledger, client, f"/preorders/{first['preorder_id']}/confirm", {})
    assert waiting["type"] == "/problems/preorder-state" and "is waiting" in waiting["detail"]

    answer = ok(post(client, "/stock/receipts", _receipt(6)))
    assert [p["preorder_id"] for p in answer["preorders_allocated"]] == [first["preorder_id"]]
    answer = ok(post(client, "/stock/receipts", _receipt(4)))
    assert [p["preorder_id"] for p in answer["preorders_allocated"]] == [second["preorder_id"]]

    read = client.get(f"/preorders/{first['preorder_id']}")
    assert (read.status_code, read.json()["status"]) == (200, "allocated")
    assert read.json()["allocations"] == {"B-NEW": 4}
    other = auth_headers("channel", channel="app")
    assert client.get(f"/preorders/{first['preorder_id']}", headers=other).status_code == 403
    assert client.get(f"/preorders/{uuid.uuid4()}").status_code == 404
    assert client.get("/preorders/not-a-uuid").status_code == 422
    sold = ok(post(client, f"/preorders/{first['preorder_id']}/confirm", {}))
    assert (sold["status"], sold["sold"]) == ("confirmed", {"B-NEW": 4})
    released = ok(post(client, f"/preorders/{second['preorder_id']}/release", {}))
    assert released["status"] == "released"
    stock = client.get(f"/skus/{SKU}/stock/{SHOP}").json()
    assert (stock["on_hand"], stock["reserved"], stock["available"]) == (6, 0, 6)


def test_a_late_shipment_tells_and_a_cancelled_one_releases(
    ledger: RunningLedger, client: httpx.Client
) -> None:
    _shop(client)
    placed = ok(post(client, "/preorders", _preorder(3)))
    later = (datetime.now(tz=UTC) + timedelta(days=30)).date().isoformat()
    shipment = {"sku": SKU, "location": SHOP, "shipment_ref": SHIPMENT}
    told = ok(post(client, "/stock/expected-shipments/delay", {**shipment, "expected_on": later}))
    assert told["preorders_told"] == [placed["preorder_id"]]
    gone = ok(post(client, "/stock/expected-shipments/cancel", shipment))
    assert gone["preorders_released"] == [placed["preorder_id"]]
    assert (gone["incoming"], gone["preordered"]) == (0, 0)
    again = refused(ledger, client, f"/preorders/{placed['preorder_id']}/release", {})
    assert again["type"] == "/problems/preorder-state"
    unknown = refused(ledger, client, "/stock/expected-shipments/cancel", shipment, status=404)
    assert unknown["type"] == "/problems/unknown-shipment"


def test_every_bad_preorder_is_a_clear_problem_with_nothing_recorded(
    ledger: RunningLedger, client: httpx.Client
) -> None:
    _shop(client, expected=5)
    app = caller_headers("channel", "app")
    off = refused(ledger, client, "/preorders", _preorder(1), caller=app)
    assert off["type"] == "/problems/preorders-off"
    over = refused(ledger, client, "/preorders", _preorder(6))
    assert (over["type"], over["available"]) == ("/problems/insufficient-stock", 5)
    unknown = refused(ledger, client, "/preorders", _preorder(1, ref="ASN-NONE"), status=404)
    assert unknown["type"] == "/problems/unknown-shipment"
    refused(ledger, client, "/preorders", _preorder(-1), status=422)
    refused(ledger, client, "/preorders", {**_preorder(1), "sku": "NO-SUCH"}, status=404)
    refused(ledger, client, f"/preorders/{uuid.uuid4()}/confirm", {}, status=404)
    switch = {"channel": "app", "allowed": True}
    seller = caller_headers("channel", "web")
    refused(ledger, client, f"/skus/{SKU}/preorders", switch, caller=seller, status=403)
    refused(ledger, client, f"/skus/{SKU}/preorders", {**switch, "allowed": "yes"}, status=422)
    refused(ledger, client, f"/skus/{SKU}/preorders", {**switch, "channel": "x"}, status=422)
    far = {"sku": SKU, "location": SHOP, "shipment_ref": SHIPMENT, "expected_on": "2999-01-01"}
    refused(ledger, client, "/stock/expected-shipments/delay", far, status=422)


def _preorder_race(base_url: str, seed: int, tally: Counter[int], start: threading.Barrier) -> None:
    rng = random.Random(seed)
    with httpx.Client(headers=auth_headers(), base_url=base_url, timeout=30) as client:
        start.wait()
        for _ in range(12):
            response = client.post(
                "/preorders", json=_preorder(rng.choice([1, 2, 3])), headers=headers()
            )
            with TALLY_LOCK:
                tally[response.status_code] += 1
            if response.status_code == 409:
                assert response.json()["type"] == "/problems/insufficient-stock", response.text
            if response.status_code == 404:  # received in full meanwhile
                assert response.json()["type"] == "/problems/unknown-shipment", response.text
                return


def _receiver(base_url: str, start: threading.Barrier, parts: list[int]) -> None:
    with httpx.Client(headers=auth_headers(), base_url=base_url, timeout=30) as client:
        start.wait()
        for part in parts:
            time.sleep(0.05)  # pre-orders come in between the parts
            ok(post(client, "/stock/receipts", _receipt(part)))


def _stock_events(running: RunningLedger) -> list[Any]:
    ledger = running.runtime.ledger
    topics = [get_topic(Stock.PreorderTaken), get_topic(Stock.PreorderAllocated)]
    return [
        ledger.mapper.to_domain_event(n)
        for n in ledger.recorder.select_notifications(1, 100_000, topics=topics)
    ]


@WRITERS
def test_preorders_racing_the_receipt_of_their_shipment_never_get_more_than_received(
    ledger: RunningLedger, client: httpx.Client
) -> None:
    _shop(client, expected=40)
    tally: Counter[int] = Counter()
    start = threading.Barrier(CLIENTS + 1)
    threads = [
        threading.Thread(target=_preorder_race, args=(ledger.base_url, seed, tally, start))
        for seed in range(CLIENTS)
    ]
    threads.append(
        threading.Thread(target=_receiver, args=(ledger.base_url, start, [7, 9, 11, 13]))
    )
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)

    assert set(tally) <= {201, 404, 409}, tally
    events = _stock_events(ledger)
    taken = [e for e in events if isinstance(e, Stock.PreorderTaken)]
    allocated = [e for e in events if isinstance(e, Stock.PreorderAllocated)]
    assert len(taken) == tally[201]
    assert sum(e.quantity for e in taken) <= 40  # never promised beyond the shipment
    assert sum(sum(e.allocations.values()) for e in allocated) <= 40  # nor beyond what came
    assert allocated, "the receipts should have allocated waiting pre-orders"
    placed_order = [e.preorder_id for e in taken]
    allocated_order = [e.preorder_id for e in allocated]
    assert allocated_order == placed_order[: len(allocated_order)]  # placement order, no skip
    stock = client.get(f"/skus/{SKU}/stock/{SHOP}").json()
    assert stock["on_hand"] == 40
    assert stock["reserved"] == sum(sum(e.allocations.values()) for e in allocated)
    assert stock["reserved"] + stock["available"] == 40
    waiting = sum(e.quantity for e in taken) - stock["reserved"]
    assert stock["preordered"] == waiting


@WRITERS
def test_refused_and_allocated_preorders_through_either_writer(
    ledger: RunningLedger, client: httpx.Client
) -> None:
    _shop(client, expected=2)
    placed = ok(post(client, "/preorders", _preorder(2)))
    answer = ok(post(client, "/stock/receipts", _receipt(2)))
    assert answer["preorders_allocated"][0]["preorder_id"] == placed["preorder_id"]
    assert answer["preorders_allocated"][0]["status"] == "allocated"


@pytest.fixture
def ledger(either_ledger: RunningLedger) -> RunningLedger:
    return either_ledger
