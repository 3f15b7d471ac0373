"""Refused demand is recorded demand, over HTTP on PostgreSQL: a reservation, a POS sale or an
order refused for lack of stock still answers its 409 problem as before, and the writer records
an `UnmetDemand.Recorded` per SKU it was short of (a retry under the same Idempotency-Key
records nothing more); a command that succeeds records none."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from domain.unmet_demand import UnmetDemand
from tests.e2e.conftest import WRITERS
from tests.e2e.ledger_server import (
    EXPIRY_LATER,
    RunningLedger,
    auth_headers,
    count_events,
    define_sku,
    headers,
    ok,
    receive,
    unmet_demand,
)

LIP, SERUM = "LIP-UNMET", "SERUM-UNMET"
WAREHOUSE, SHOP = "WH-UNMET", "ST-UNMET"
HOME = {"method": "ship", "latitude": 48.85, "longitude": 2.35}


def seed(client: httpx.Client) -> None:
    """LIP: 3 at the warehouse, 4 in the shop; SERUM defined, none in stock."""
    define_sku(client, LIP)
    define_sku(client, SERUM)
    for code, kind in ((WAREHOUSE, "warehouse"), (SHOP, "store")):
        place = {"code": code, "name": code, "kind": kind, "latitude": 48.8, "longitude": 2.3}
        ok(client.post("/locations", json=place, headers=headers()))
    receive(client, LIP, WAREHOUSE, "W1", 3, EXPIRY_LATER)
    receive(client, LIP, SHOP, "S1", 4, EXPIRY_LATER)


@pytest.fixture
def shop(either_ledger: RunningLedger) -> Iterator[tuple[RunningLedger, httpx.Client]]:
    with httpx.Client(
        headers=auth_headers(), base_url=either_ledger.base_url, timeout=30
    ) as client:
        seed(client)
        yield either_ledger, client


def recorded(demand: UnmetDemand.Recorded) -> tuple[str, str, int, int, int, str, str, str]:
    return (
        demand.sku,
        demand.location,
        demand.asked,
        demand.available,
        demand.short,
        demand.reason,
        demand.command,
        demand.channel,
    )


@WRITERS
def test_a_refused_reservation_answers_as_before_and_records_its_demand_once(
    shop: tuple[RunningLedger, httpx.Client],
) -> None:
    running, client = shop
    before = count_events(running.store_url)
    lines = [{"sku": LIP, "location": WAREHOUSE, "quantity": 5}]
    body = {"lines": lines, "customer_id": str(uuid.uuid4())}
    key = "cart-" + uuid.uuid4().hex

    first = client.post("/reservations", json=body, headers=headers(key))
    assert first.status_code == 409, first.text
    assert first.headers["content-type"] == "application/problem+json"
    problem = first.json()
    assert problem["type"] == "/problems/insufficient-stock"
    assert (problem["sku"], problem["location"]) == (LIP, WAREHOUSE)
    assert (problem["requested"], problem["available"]) == (5, 3)
    assert problem["detail"] == f"only 3 unit(s) of {LIP} available at {WAREHOUSE}, 5 requested"

    (demand,) = unmet_demand(running)
    assert recorded(demand) == (
        LIP, WAREHOUSE, 5, 3, 2, "insufficient-stock", "PlaceReservation", "web",
    )  # fmt: skip
    assert demand.trace.customer_id is None  # a record of demand names no customer
    assert demand.trace.idempotency_key == key
    assert count_events(running.store_url) == before + 1  # the reservation took nothing

    again = client.post("/reservations", json=body, headers=headers(key))
    assert (again.status_code, again.json()) == (409, problem)
    assert len(unmet_demand(running)) == 1  # the retry's demand is the same demand
    assert count_events(running.store_url) == before + 1

    other = client.post("/reservations", json=body, headers=headers())  # a new key: new demand
    assert other.status_code == 409
    assert [d.short for d in unmet_demand(running)] == [2, 2]


def test_a_refused_pos_sale_records_its_demand_at_the_shop(
    shop: tuple[RunningLedger, httpx.Client],
) -> None:
    running, client = shop
    sale = {"sale_id": str(uuid.uuid4()), "lines": [{"sku": LIP, "location": SHOP, "quantity": 6}]}
    response = client.post("/sales", json=sale, headers=headers(channel="pos"))
    assert response.status_code == 409, response.text
    assert (response.json()["requested"], response.json()["available"]) == (6, 4)
    (demand,) = unmet_demand(running)
    assert recorded(demand) == (LIP, SHOP, 6, 4, 2, "insufficient-stock", "SellDirect", "pos")
    auditor = auth_headers("auditor")
    history = ok(client.get(f"/audit/unmet-demand/{demand.originator_id}/history", headers=auditor))
    (event,) = history["events"]
    assert event["type"] == "UnmetDemand.Recorded"
    assert (event["data"]["asked"], event["data"]["short"], event["data"]["channel"]) == (
        6,
        2,
        "pos",
    )
    params = {"kind": "unmet-demand", "key": str(demand.originator_id)}
    exported = client.get("/audit/export", params=params, headers=auditor)
    assert exported.status_code == 200 and len(exported.content.splitlines()) == 1
    assert b"UnmetDemand.Recorded" in exported.content


def test_an_order_that_cannot_be_sourced_records_each_short_line(
    shop: tuple[RunningLedger, httpx.Client],
) -> None:
    running, client = shop
    lines = [{"sku": LIP, "quantity": 10}, {"sku": SERUM, "quantity": 2}]
    response = client.post("/orders", json={"lines": lines, "delivery": HOME}, headers=headers())
    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["type"] == "/problems/cannot-source"
    unserved = {(u["line_id"], u["sku"], u["units"]) for u in problem["unserved"]}
    assert unserved == {("L1", LIP, 3), ("L2", SERUM, 2)}
    found = sorted(recorded(d) for d in unmet_demand(running))
    assert found == [
        (LIP, "", 10, 7, 3, "cannot-source", "PlaceOrder", "web"),  # shipped: no location
        (SERUM, "", 2, 0, 2, "cannot-source", "PlaceOrder", "web"),
    ]


def test_a_click_and_collect_order_records_its_demand_at_the_pickup_store(
    shop: tuple[RunningLedger, httpx.Client],
) -> None:
    running, client = shop
    pickup = {"method": "pickup", "store": SHOP}
    body = {"lines": [{"sku": LIP, "quantity": 6}], "delivery": pickup}
    response = client.post("/orders", json=body, headers=headers())
    assert response.status_code == 409, response.text
    (demand,) = unmet_demand(running)
    assert recorded(demand) == (LIP, SHOP, 6, 4, 2, "cannot-source", "PlaceOrder", "web")


def test_a_command_that_succeeds_or_is_refused_for_another_reason_records_no_demand(
    shop: tuple[RunningLedger, httpx.Client],
) -> None:
    running, client = shop
    lines = [{"sku": LIP, "location": WAREHOUSE, "quantity": 3}]
    ok(client.post("/reservations", json={"lines": lines}, headers=headers()))
    unknown = [{"sku": "NO-SUCH", "location": WAREHOUSE, "quantity": 1}]
    assert client.post("/sales", json={"lines": unknown}, headers=headers()).status_code == 404
    # the shop's own moves refused for stock are not a customer's demand
    transfer = {"sku": LIP, "from_location": SHOP, "to_location": WAREHOUSE, "quantity": 10}
    moved = client.post("/transfers", json=transfer, headers=headers())
    assert (moved.status_code, moved.json()["type"]) == (409, "/problems/insufficient-stock")
    assert unmet_demand(running) == []
