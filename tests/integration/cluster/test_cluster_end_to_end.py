"""The cluster path with real processes: commands through the API, `glow relay` to Tansu,
`glow worker` (Faust) into Redis and chDB; the API answers from Redis; `glow lag` says every
consumer is caught up."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import orjson
import pytest

from cli.dev_processes import free_port
from configuration.settings import Settings
from tests.e2e.ledger_server import auth_headers, ok, post, serve
from tests.integration.cluster.processes import dump_facts, glow, running, stop, wait_for
from tests.integration.readside.test_read_side_end_to_end import caught_up, trade

pytestmark = pytest.mark.kafka


def worker_args(tmp_path: Path) -> tuple[str, ...]:
    return ("worker", "--web-port", str(free_port()), "--data-dir", str(tmp_path / "faust"))


def test_commands_through_the_api_reach_redis_and_clickhouse_via_relay_and_worker(
    cluster: Settings, tmp_path: Path
) -> None:
    log = tmp_path / "processes.log"
    with (
        serve(cluster) as ledger,
        httpx.Client(headers=auth_headers(), base_url=ledger.base_url, timeout=30) as client,
        running(cluster, "relay", log=log),
        running(cluster, *worker_args(tmp_path), log=log) as worker,
    ):
        assert ledger.runtime.read_side is not None
        assert ledger.runtime.read_side.follower is None  # the worker keeps the models
        trade(client)
        customer = str(uuid.uuid4())  # the order view and facts, kept by the worker from `orders`
        pickup = {"method": "pickup", "store": "PARIS"}
        body = {"lines": [{"sku": "SERUM-1", "quantity": 1}], "delivery": pickup}
        placed = ok(post(client, "/orders", {**body, "customer_id": customer}))
        too_many = {"lines": [{"sku": "SERUM-1", "location": "PARIS", "quantity": 99}]}
        assert post(client, "/reservations", too_many).status_code == 409  # unmet demand
        view = caught_up(client, "/availability/SERUM-1?location=PARIS")
        truth = client.get("/skus/SERUM-1/stock/PARIS").json()
        assert view["log"]["behind"] == 0, log.read_text()[-3000:]
        for figure in ("on_hand", "reserved", "available", "next_expiry"):
            assert view["availability"][figure] == truth[figure], figure
        listed = caught_up(client, f"/orders?customer_id={customer}")
        assert [(o["order_id"], o["status"]) for o in listed["orders"]] == [
            (placed["order_id"], "sourced")
        ], log.read_text()[-3000:]

        def no_lag() -> bool:  # the worker commits its offsets every second
            lines = glow(cluster, "lag").splitlines()[1:]
            return len(lines) == 7 and all(line.split()[-2] == "0" for line in lines)

        wait_for(no_lag, 20, "glow lag to show every consumer caught up", interval=0.5)
        stop(worker)  # the worker owns its chDB path: read it once it has stopped
    facts = dump_facts(cluster.analytics_url or "")
    assert facts["_sold_units"] == 4  # 3 from the confirmed reservation, 1 sold directly
    assert len(facts["sales_lines"]) == 2
    assert facts["reservation_events"] and facts["stock_movements"]
    assert len(facts["orders"]) == 1 and len(facts["fulfilments"]) == 1  # the orders topic too
    (unmet,) = facts["unmet_demand"]  # the refused reservation, from the inventory topic
    assert (
        "'SERUM-1', 'PARIS', 99, " in unmet and "'insufficient-stock', 'PlaceReservation'" in unmet
    )
    steps = [orjson.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    relayed = [s for s in steps if s.get("step") == "relay-batch"]
    projected = [s for s in steps if s.get("step") == "worker-batch"]
    assert relayed and sum(s["events"] for s in relayed) > 0, log.read_text()[-3000:]
    assert relayed[-1]["logger"] == "streams.relay" and relayed[-1]["position"] > 0
    assert projected and sum(s["events"] for s in projected) > 0, log.read_text()[-3000:]
