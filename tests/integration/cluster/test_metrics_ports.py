"""`glow relay`, `glow worker` and `glow webhooks run` serve /metrics on GLOW_METRICS_PORT:
each reports its lag against the log's head and its throughput, read by a real scrape while
it works. Then every metric the Grafana dashboard and the alert rules query must be one these
processes, the API and a rebuild actually export (or one the edge middleware will)."""

from __future__ import annotations

import secrets
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from cli.dev_processes import free_port
from configuration.settings import Settings
from projections.redis_views import RedisHotViews
from service_layer.bootstrap import open_ledger
from streams.log_reader import LogReader
from streams.rebuild import rebuild_hot_views
from tests.e2e.ledger_server import auth_headers, count_events, headers, serve
from tests.integration.cluster.processes import glow, running, seed, wait_for
from tests.integration.metrics_scrape import (
    EXPECTED_FROM_EDGE,
    Samples,
    alert_expressions,
    dashboard_expressions,
    queried_names,
    sample_names,
    samples,
    value,
)

pytestmark = pytest.mark.kafka


def scraped(port: int) -> Samples | None:
    try:
        response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    except httpx.HTTPError:
        return None  # not listening yet
    return samples(response.text) if response.status_code == 200 else None


def lag_zero(port: int, *consumers: str, published: int = 0) -> Samples | None:
    found = scraped(port)
    if found is None:
        return None
    for consumer in consumers:
        if found.get(("glow_log_consumer_lag_events", frozenset({("consumer", consumer)}))) != 0:
            return None
    if found.get(("glow_relay_events_published_total", frozenset()), 0) < published:
        return None
    return found


@pytest.mark.slow  # over 12 s: CI's second pass (scripts/test -m slow)
def test_background_processes_serve_their_metrics_and_the_dashboard_queries_real_names(
    cluster: Settings, redis_url: str, tmp_path: Path
) -> None:
    seed(cluster.event_store_url, sales=120)
    head = count_events(cluster.event_store_url)
    log = tmp_path / "processes.log"
    ports = {name: free_port() for name in ("relay", "worker", "webhooks")}
    worker = ("worker", "--web-port", str(free_port()), "--data-dir", str(tmp_path / "faust"))
    with (
        running(replace(cluster, metrics_port=ports["relay"]), "relay", log=log),
        running(replace(cluster, metrics_port=ports["worker"]), *worker, log=log),
        running(replace(cluster, metrics_port=ports["webhooks"]), "webhooks", "run", log=log),
    ):
        relay = wait_for(
            lambda: lag_zero(ports["relay"], "relay", published=1), 90, "the relay at the head"
        )
        projected = wait_for(
            lambda: lag_zero(ports["worker"], "hot_views", "facts"), 120, "the worker at the head"
        )
        hooks = wait_for(lambda: lag_zero(ports["webhooks"], "webhooks"), 60, "webhooks")
    assert value(relay, "glow_log_head_position") == head
    assert value(relay, "glow_log_consumer_position", consumer="relay") == head
    assert value(relay, "glow_dead_letters", sink="relay") == 0
    published = value(relay, "glow_relay_events_published_total")
    assert 0.9 * head < published <= head  # the log's unpublished types (write-side) aside
    for sink in ("hot_views", "facts"):
        assert value(projected, "glow_log_consumer_position", consumer=sink) == head
        assert value(projected, "glow_events_projected_total", sink=sink) > 0
    assert value(hooks, "glow_webhook_outbox_deliveries", status="dead") == 0

    # A rebuild in this process (its progress gauges), then the API's own scrape, which
    # includes this process's registry; a verification recorded for the chain's gauges.
    namespace = f"glow-test-metrics-{secrets.token_hex(4)}"
    views = RedisHotViews.from_url(redis_url, namespace)
    ledger = open_ledger(cluster)
    try:
        rebuilt = rebuild_hot_views(LogReader(ledger), views, show=False)
        assert rebuilt.position == head
    finally:
        ledger.close()
        views.drop_everything()
    glow(cluster, "verify")
    api_settings = replace(
        cluster, broker_url=None, writer_process=True, webhooks=True, hot_views_url="memory://"
    )
    with serve(api_settings) as api:
        sale = {"lines": [{"sku": "NO-SUCH-SKU", "location": "WH", "quantity": 1}]}
        refused = httpx.post(f"{api.base_url}/sales", json=sale, headers=headers())
        assert refused.status_code == 404  # glow_refusals_total{problem} exists from then on
        response = httpx.get(f"{api.base_url}/metrics", headers=auth_headers("operator"))
        assert response.status_code == 200
        from_api = samples(response.text)
    assert value(from_api, "glow_rebuild_position", model="hot-views") == head
    assert value(from_api, "glow_rebuild_target_position", model="hot-views") == head

    exported = set(EXPECTED_FROM_EDGE)
    for found in (relay, projected, hooks, from_api):
        exported |= sample_names(found)
    for where, expressions in (
        ("deploy/grafana/glowledger.json", dashboard_expressions()),
        ("deploy/prometheus/alerts.yml", alert_expressions()),
    ):
        queried = queried_names(expressions)
        assert len(queried) > 10, where
        assert queried <= exported, f"{where} queries {sorted(queried - exported)}: never exported"
