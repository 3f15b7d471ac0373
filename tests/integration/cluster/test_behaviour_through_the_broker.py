"""Behaviour on the cluster path with real processes: POST /track/batch to an API with a
broker produces to Tansu's `behaviour` topic, and `glow worker` (Faust) writes the rows into
its chDB; `glow tracking violations --json` reads the violations back from the same path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import orjson
import pytest

from configuration.settings import Settings
from tests.e2e.ledger_server import auth_headers, serve
from tests.integration.cluster.processes import glow, running, stop, wait_for
from tests.integration.cluster.test_cluster_end_to_end import worker_args

pytestmark = pytest.mark.kafka

COUNT = """
import sys
from projections.clickhouse_facts import open_facts
facts = open_facts(sys.argv[1])
print(facts.rows("SELECT count() AS n FROM behaviour_events FINAL")[0]["n"])
"""


def written_rows(log: Path) -> int:
    steps = [orjson.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return sum(s["rows"] for s in steps if s.get("step") == "worker-behaviour")


def test_tracked_events_reach_clickhouse_through_tansu_and_the_worker(
    cluster: Settings, tmp_path: Path
) -> None:
    log = tmp_path / "processes.log"
    cookie = {"consent": {"analytics": True}}
    events = [
        {
            "event": "product_viewed",
            "properties": {"sku": f"SKU-{n % 7}"},
            "anonymous_id": f"device-{n % 13}",
            "context": cookie,
            "message_id": f"m-{n}",
        }
        for n in range(100)
    ]
    events.append({"event": "product_teleported", "properties": {}, "anonymous_id": "d"})
    headers = auth_headers("channel", channel="web")
    with (
        serve(cluster) as ledger,
        httpx.Client(headers=headers, base_url=ledger.base_url, timeout=30) as client,
        running(cluster, *worker_args(tmp_path), log=log) as worker,
    ):
        assert ledger.runtime.behaviour is not None and ledger.runtime.behaviour.topic is not None
        answer = client.post("/track/batch", json={"batch": events})
        assert answer.status_code == 202, answer.text
        assert (answer.json()["accepted"], answer.json()["blocked"]) == (100, 1)
        again = client.post("/track/batch", json={"batch": events[:10]})  # a retry: no new rows
        assert again.status_code == 202, again.text
        wait_for(lambda: written_rows(log) >= 110, 60, "the worker to write the behaviour rows")
        stop(worker)  # the worker owns its chDB path: read it once it has stopped
    url = cluster.analytics_url or ""
    counted = subprocess.run(
        [sys.executable, "-c", COUNT, url], capture_output=True, timeout=120, check=True
    )
    assert int(counted.stdout) == 100
    report = orjson.loads(glow(cluster, "tracking", "violations", "--json"))
    assert [(v["event"], v["kind"], v["events"]) for v in report["violations"]] == [
        ("product_teleported", "unknown_event", 1)
    ]
