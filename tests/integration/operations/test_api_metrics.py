"""The API's /metrics on a real PostgreSQL with the writer in its own process: the writer's
group sizes, commit times and outcomes reach the API over the writer's frames; the log's
followers (embedded hot views, sweeper, audit chain) report their lag; `glow verify` records
its verdict, which the metrics (and so the alerts) see, a tampered log included; webhook
attempts that fail against a real receiver are counted by reason and outcome."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import psycopg
import pytest

from cli.main import main
from configuration.settings import Settings
from service_layer.writer_client import RemoteWriter
from tests.e2e.conftest import scratch_database
from tests.e2e.ledger_server import (
    RunningLedger,
    auth_headers,
    count_events,
    headers,
    ok,
    serve,
    stocked_sku,
)
from tests.e2e.test_api_webhooks import hooked, place_and_ship, subscribe
from tests.e2e.webhook_receiver import FAIL, always, receiving
from tests.integration.metrics_scrape import Samples, scrape, value

pytestmark = pytest.mark.postgres

OPERATOR = auth_headers("operator")
SKU, WHERE = "LIP-MET", "WH-MET"


def metrics(running: RunningLedger) -> Samples:
    return scrape(f"{running.base_url}/metrics", OPERATOR)


def eventually(running: RunningLedger, check: Callable[[Samples], bool], what: str) -> Samples:
    deadline = time.monotonic() + 30
    while True:
        found = metrics(running)
        if check(found):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"/metrics never showed {what}")
        time.sleep(0.1)


@pytest.fixture
def postgres_store() -> Iterator[str]:
    with scratch_database() as url:
        yield url


@pytest.fixture
def shop(postgres_store: str) -> Iterator[tuple[RunningLedger, httpx.Client]]:
    settings = Settings(
        event_store_url=postgres_store,
        writer_process=True,
        hot_views_url="memory://",
        chain_interval_seconds=0.2,
        sweep_interval_seconds=0.2,
    )
    with (
        serve(settings) as running,
        httpx.Client(headers=auth_headers(), base_url=running.base_url, timeout=30) as client,
    ):
        yield running, client


def test_the_writer_process_counts_reach_the_api_metrics(
    shop: tuple[RunningLedger, httpx.Client],
) -> None:
    running, client = shop
    assert isinstance(running.runtime.writer, RemoteWriter)
    # the registry is the test process's: earlier tests' servers may have counted in it
    before = metrics(running)
    stocked_sku(client, SKU, WHERE, {"B1": 5})  # three commands
    sale = {"lines": [{"sku": SKU, "location": WHERE, "quantity": 2}]}
    key = "metrics-sale-1"
    assert ok(client.post("/sales", json=sale, headers=headers(key)))
    replay = client.post("/sales", json=sale, headers=headers(key))
    assert replay.headers["Idempotent-Replayed"] == "true"
    too_many = {"lines": [{"sku": SKU, "location": WHERE, "quantity": 50}]}
    assert client.post("/sales", json=too_many, headers=headers()).status_code == 409

    found = metrics(running)
    inventory = {"ledger": "inventory"}

    def grew(name: str, **labels: str) -> float:
        """Growth since `before`; a labelled series first exported by these commands (this
        test run alone, no earlier server in the process) grew from 0."""
        return value(found, name, **labels) - before.get((name, frozenset(labels.items())), 0.0)

    assert grew("glow_writer_commands_total", outcome="committed", **inventory) == 4
    assert grew("glow_writer_commands_total", outcome="replayed", **inventory) == 1
    assert grew("glow_writer_commands_total", outcome="refused", **inventory) == 1
    assert grew("glow_writer_commands_total", outcome="failed", **inventory) == 0
    # the refused sale's demand, recorded by the writer process, counted in the API's /metrics
    assert grew("glow_unmet_demand_recorded_total", reason="insufficient-stock") == 1
    assert grew("glow_unmet_demand_unrecorded_total") == 0
    # one observation per committed group, made in the writer process, observed here
    assert grew("glow_writer_group_size_sum", **inventory) == 4
    groups = grew("glow_writer_groups_total", **inventory)
    assert grew("glow_writer_commit_seconds_count", **inventory) == groups == 4
    assert grew("glow_writer_commit_seconds_sum", **inventory) > 0
    assert value(found, "glow_writer_queue_depth", **inventory) == 0
    assert value(found, "glow_writer_queue_capacity", **inventory) == 20_000
    assert grew("glow_writer_overloaded_total", **inventory) == 0
    # the names /metrics had before, kept
    assert grew("glow_commands_committed_total") == 5
    assert grew("glow_commit_groups_total") == 4
    assert value(found, "glow_open_reservations") == 0
    assert grew("glow_reservations_expired_total") == 0


def test_each_follower_of_the_log_reports_its_lag_against_the_head(
    shop: tuple[RunningLedger, httpx.Client],
) -> None:
    running, client = shop
    stocked_sku(client, SKU, WHERE, {"B1": 5})
    head = count_events(running.store_url)

    def caught_up(found: Samples) -> bool:
        return (
            all(
                found.get(("glow_log_consumer_lag_events", frozenset({("consumer", c)}))) == 0
                for c in ("hot_views", "sweeper")
            )
            and found.get(("glow_chain_lag_events", frozenset())) == 0
        )

    found = eventually(running, caught_up, "the hot views, sweeper and chain at the head")
    assert value(found, "glow_log_head_position") == head
    assert value(found, "glow_log_consumer_position", consumer="hot_views") == head
    assert value(found, "glow_chain_position") == head
    assert value(found, "glow_sweeper_oldest_overdue_seconds") == 0
    assert value(found, "glow_dead_letters", sink="hot_views") == 0

    reserve = {"lines": [{"sku": SKU, "location": WHERE, "quantity": 1}], "ttl_seconds": 60}
    ok(client.post("/reservations", json=reserve, headers=headers()))
    found = eventually(
        running,
        lambda f: (
            f.get(("glow_log_head_position", frozenset())) == head + 2
            and f.get(("glow_open_reservations", frozenset())) == 1
        ),
        "the reservation followed",
    )
    assert value(found, "glow_log_consumer_lag_events", consumer="sweeper") == 0


def test_glow_verify_records_its_verdict_for_the_metrics_a_tampered_log_included(
    shop: tuple[RunningLedger, httpx.Client],
) -> None:
    running, client = shop
    stocked_sku(client, SKU, WHERE, {"B1": 5})
    head = count_events(running.store_url)
    eventually(running, lambda f: f.get(("glow_chain_position", frozenset())) == head, "chained")
    found = metrics(running)
    assert value(found, "glow_chain_verifications_total") == 0
    assert ("glow_chain_last_verification_intact", frozenset()) not in found

    assert main(["--store", running.store_url, "verify"]) == 0
    found = metrics(running)
    assert value(found, "glow_chain_verifications_total") == 1
    assert value(found, "glow_chain_verification_failures_total") == 0
    assert value(found, "glow_chain_last_verification_intact") == 1
    assert abs(value(found, "glow_chain_last_verification_timestamp_seconds") - time.time()) < 600

    with psycopg.connect(running.store_url) as conn:
        conn.execute(
            "UPDATE inventory_events SET state = state || ' '::bytea WHERE notification_id = 2"
        )
    assert main(["--store", running.store_url, "verify"]) == 1
    found = metrics(running)
    assert value(found, "glow_chain_verifications_total") == 2
    assert value(found, "glow_chain_verification_failures_total") == 1
    assert value(found, "glow_chain_last_verification_intact") == 0


def test_failed_webhook_attempts_are_counted_by_reason_and_outcome(postgres_store: str) -> None:
    with (
        serve(hooked(postgres_store, webhook_max_attempts=2)) as running,
        httpx.Client(headers=auth_headers(), base_url=running.base_url, timeout=30) as client,
        receiving(always(FAIL)) as receiver,
    ):
        before = metrics(running)
        stocked_sku(client, "LIP-WH", "PARIS-WH", {"B1": 50})
        subscribe(client, receiver.url, "order.status_changed")
        place_and_ship(client)  # five status changes, each failing both attempts: HTTP 500
        dead = ("glow_webhook_deliveries_total", {"outcome": "dead"})
        found = eventually(  # the outbox row is dead a moment before its counter is counted
            running,
            lambda f: (
                f.get(("glow_webhook_outbox_deliveries", frozenset({("status", "dead")}))) == 5
                and value(f, dead[0], **dead[1]) - value(before, dead[0], **dead[1]) == 5
            ),
            "five dead webhook deliveries, counted",
        )

        def grew(name: str, **labels: str) -> float:
            return value(found, name, **labels) - value(before, name, **labels)

        assert grew("glow_webhook_deliveries_total", outcome="dead") == 5
        assert grew("glow_webhook_deliveries_total", outcome="retried") == 5
        assert grew("glow_webhook_deliveries_total", outcome="delivered") == 0
        assert grew("glow_webhook_delivery_failures_total", reason="http_5xx") == 10
        assert grew("glow_webhook_delivery_failures_total", reason="timeout") == 0
        assert len(receiver.requests) == 10
