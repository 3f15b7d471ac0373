"""Refused demand reaches ClickHouse (chDB): refusals for lack of stock over HTTP on PostgreSQL
are projected by the embedded follower into `unmet_demand`, one row per record with what was
asked, available and short; a rebuild from the log gives the same rows."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from configuration.settings import Settings
from projections.clickhouse_facts import ClickHouseFacts
from streams.rebuild import rebuild_facts
from tests.e2e.conftest import scratch_database
from tests.e2e.ledger_server import RunningLedger, auth_headers, headers, serve, unmet_demand
from tests.e2e.test_api_unmet_demand import LIP, SERUM, SHOP, WAREHOUSE, seed

COLUMNS = "event_id, position, occurred_at, channel, sku, location, asked, available, short, "
COLUMNS += "reason, command"


@pytest.fixture
def running(analytics_url: str) -> Iterator[RunningLedger]:
    with scratch_database() as store_url:
        settings = Settings(
            event_store_url=store_url, hot_views_url="memory://", analytics_url=analytics_url
        )
        with serve(settings) as ledger:
            yield ledger


def projected(facts: ClickHouseFacts, count: int) -> list[dict[str, Any]]:
    """The unmet_demand rows once the follower has projected `count` of them."""
    deadline = time.monotonic() + 30
    query = f"SELECT {COLUMNS} FROM unmet_demand FINAL ORDER BY position, sku"
    while len(rows := facts.rows(query)) < count:
        assert time.monotonic() < deadline, f"only {len(rows)} of {count} rows projected"
        time.sleep(0.05)
    return rows


def test_refused_demand_is_projected_into_unmet_demand(running: RunningLedger) -> None:
    with httpx.Client(headers=auth_headers(), base_url=running.base_url, timeout=30) as client:
        seed(client)
        cart = {"lines": [{"sku": LIP, "location": WAREHOUSE, "quantity": 5}]}
        assert client.post("/reservations", json=cart, headers=headers()).status_code == 409
        sale = {
            "sale_id": str(uuid.uuid4()),
            "lines": [{"sku": LIP, "location": SHOP, "quantity": 9}],
        }
        pos = client.post("/sales", json=sale, headers=headers(channel="pos"))
        assert pos.status_code == 409
        pickup = {"method": "pickup", "store": SHOP}
        lines = [{"sku": LIP, "quantity": 6}, {"sku": SERUM, "quantity": 1}]
        order = client.post("/orders", json={"lines": lines, "delivery": pickup}, headers=headers())
        assert order.status_code == 409

    facts = running.runtime.read_side.sinks.facts
    assert isinstance(facts, ClickHouseFacts)
    rows = projected(facts, 4)
    events = unmet_demand(running)
    assert [row["event_id"] for row in rows] == [f"{e.originator_id}:1" for e in events]
    assert [
        (r["channel"], r["sku"], r["location"], r["asked"], r["available"], r["short"],
         r["reason"], r["command"])
        for r in rows
    ] == [
        ("web", LIP, WAREHOUSE, 5, 3, 2, "insufficient-stock", "PlaceReservation"),
        ("pos", LIP, SHOP, 9, 4, 5, "insufficient-stock", "SellDirect"),
        ("web", LIP, SHOP, 6, 4, 2, "cannot-source", "PlaceOrder"),
        ("web", SERUM, SHOP, 1, 0, 1, "cannot-source", "PlaceOrder"),
    ]  # fmt: skip
    for row, event in zip(rows, events, strict=True):  # when the customer asked, to the µs
        at: datetime = row["occurred_at"]
        assert (at if at.tzinfo else at.replace(tzinfo=UTC)) == event.trace.occurred_at

    live = facts.table_rows("unmet_demand")
    rebuild_facts(running.runtime.read_side.reader, facts, show=False)
    assert facts.table_rows("unmet_demand") == live
