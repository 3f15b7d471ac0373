"""One day of a SKU's life through the API, on SQLite and on PostgreSQL alike."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from configuration.settings import Settings
from tests.e2e.ledger_server import (
    EXPIRY_LATER,
    EXPIRY_SOON,
    RunningLedger,
    auth_headers,
    count_events,
    define_sku,
    headers,
    ok,
    receive,
    register_location,
    serve,
    unmet_demand,
)

SKU, SHOP, DEPOT = "CLEANSER-DAY", "SHOP-1", "DEPOT-2"


@pytest.fixture(params=["sqlite", "postgres"])
def any_ledger(request: pytest.FixtureRequest) -> Iterator[RunningLedger]:
    url = request.getfixturevalue(f"{request.param}_store")
    with serve(Settings(event_store_url=url)) as running:
        yield running


def _stock_events(running: RunningLedger) -> Counter[str]:
    notifications = running.runtime.ledger.recorder.select_notifications(1, 10_000)
    return Counter(n.topic.rsplit(".", 1)[-1] for n in notifications if ":Stock." in n.topic)


def _at(client: httpx.Client, location: str) -> dict[str, int]:
    stock = client.get(f"/skus/{SKU}/stock/{location}").json()
    return {k: stock[k] for k in ("on_hand", "reserved", "available", "quarantined", "recalled")}


def test_receive_reserve_confirm_release_return_adjust_transfer_quarantine_recall(
    any_ledger: RunningLedger,
) -> None:
    with httpx.Client(headers=auth_headers(), base_url=any_ledger.base_url) as client:
        define_sku(client, SKU)
        register_location(client, SHOP)
        register_location(client, DEPOT)
        receive(client, SKU, SHOP, "B1", 10, EXPIRY_SOON)
        receive(client, SKU, SHOP, "B2", 5, EXPIRY_LATER)

        def post(path: str, body: dict[str, object]) -> dict[str, object]:
            return ok(client.post(path, json=body, headers=headers()))

        line = {"sku": SKU, "location": SHOP}
        kept = post("/reservations", {"lines": [{**line, "quantity": 3}]})
        sold = post(f"/reservations/{kept['reservation_id']}/confirm", {})
        assert sold["status"] == "confirmed"
        dropped = post("/reservations", {"lines": [{**line, "quantity": 2}]})
        assert post(f"/reservations/{dropped['reservation_id']}/release", {})["status"] == (
            "released"
        )
        post("/sales", {"lines": [{**line, "quantity": 1}]})
        post("/returns", {**line, "batch": "B1", "quantity": 1, "restock": True})
        post("/adjustments", {**line, "batch": "B2", "delta": -1, "reason": "damaged"})
        assert _at(client, SHOP) == {
            "on_hand": 11,
            "reserved": 0,
            "available": 11,
            "quarantined": 0,
            "recalled": 0,
        }

        moved = post(
            "/transfers", {"sku": SKU, "from_location": SHOP, "to_location": DEPOT, "quantity": 4}
        )
        assert moved["to"]["on_hand"] == 4  # type: ignore[index]
        post("/batches/quarantine", {**line, "batch": "B2"})
        recall = post("/batches/recall", {"sku": SKU, "batch": "B1", "reason": "notice-42"})
        assert recall["recalled_at"] == [SHOP, DEPOT]

        assert _at(client, SHOP) == {
            "on_hand": 7,
            "reserved": 0,
            "available": 0,
            "quarantined": 4,
            "recalled": 3,
        }
        assert _at(client, DEPOT) == {
            "on_hand": 4,
            "reserved": 0,
            "available": 0,
            "quarantined": 0,
            "recalled": 4,
        }
        before = count_events(any_ledger.store_url)
        refused = client.post(
            "/sales", json={"lines": [{**line, "quantity": 1}]}, headers=headers()
        )
        assert refused.status_code == 409
        assert refused.json()["available"] == 0
        (demand,) = unmet_demand(any_ledger)  # nothing sold; the demand it refused, recorded
        assert (demand.sku, demand.location, demand.short) == (SKU, SHOP, 1)
        assert count_events(any_ledger.store_url) == before + 1

        post("/batches/lift-quarantine", {**line, "batch": "B2"})
        assert _at(client, SHOP)["available"] == 4

    assert _stock_events(any_ledger) == {
        "Opened": 2,
        "BatchReceived": 2,
        "Reserved": 2,
        "Sold": 2,
        "ReservationReleased": 1,
        "Returned": 1,
        "Adjusted": 1,
        "TransferredOut": 1,
        "TransferredIn": 1,
        "BatchQuarantined": 1,
        "BatchRecalled": 2,
        "BatchQuarantineLifted": 1,
    }
