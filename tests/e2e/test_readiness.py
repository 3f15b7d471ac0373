"""/health/ready and /health/live over HTTP, with real engines: ready when the writer leads,
the store and the read models answer; a read model that does not answer (Redis at a closed
port) makes the process not ready, never not live, and the answer names no address."""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest

from configuration.settings import Settings
from tests.e2e.ledger_server import RunningLedger, serve

REDIS_URL = os.environ.get("GLOW_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
CLOSED_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def served(store: str, hot_views: str) -> Iterator[RunningLedger]:
    # With a broker, the API only reads the hot views (the workers write them): no follower.
    settings = Settings(
        event_store_url=store, hot_views_url=hot_views, broker_url="kafka://127.0.0.1:1"
    )
    with serve(settings) as running:
        yield running


@pytest.fixture
def reachable(postgres_store: str) -> Iterator[RunningLedger]:
    yield from served(postgres_store, REDIS_URL)


@pytest.fixture
def unreachable(postgres_store: str) -> Iterator[RunningLedger]:
    yield from served(postgres_store, CLOSED_REDIS)


def test_ready_when_the_writer_the_store_and_the_hot_views_answer(
    reachable: RunningLedger,
) -> None:
    ready = httpx.get(reachable.base_url + "/health/ready")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    live = httpx.get(reachable.base_url + "/health/live")
    assert (live.status_code, live.json()) == (200, {"status": "live"})


def test_hot_views_that_do_not_answer_make_the_process_not_ready_but_live(
    unreachable: RunningLedger,
) -> None:
    ready = httpx.get(unreachable.base_url + "/health/ready")
    assert ready.status_code == 503
    assert ready.headers["content-type"] == "application/problem+json"
    assert ready.headers["cache-control"] == "no-store"
    assert ready.json()["reasons"] == ["read models: the hot views do not answer"]
    assert "127.0.0.1" not in ready.text and "redis" not in ready.text.lower()
    assert httpx.get(unreachable.base_url + "/health/live").status_code == 200
    assert httpx.get(unreachable.base_url + "/health").status_code == 200


def test_a_stopped_writer_makes_the_process_not_ready_and_leaves_it_live(
    reachable: RunningLedger,
) -> None:
    reachable.runtime.writer.stop()
    ready = httpx.get(reachable.base_url + "/health/ready").json()
    assert ready["reasons"] == ["writer: the writer is stopped"]
    assert httpx.get(reachable.base_url + "/health/live").status_code == 200


def test_a_draining_process_is_not_ready_but_live(reachable: RunningLedger) -> None:
    # What SIGTERM does first (cli/serving.py): the load balancer stops sending new traffic
    # while the commands in flight are answered.
    reachable.runtime.begin_draining(5.0)
    ready = httpx.get(reachable.base_url + "/health/ready")
    assert ready.status_code == 503
    assert "draining: the process is shutting down" in ready.json()["reasons"]
    assert httpx.get(reachable.base_url + "/health/live").status_code == 200
