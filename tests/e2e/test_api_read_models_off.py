"""A read model this process does not serve is answered 503 `read-models-off` with the true
reason and what to do, over HTTP on PostgreSQL: with a broker, a chDB path belongs to the
worker and the in-process store is invisible to the API; without one, an empty URL is off."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from configuration.settings import Settings
from tests.e2e.ledger_server import auth_headers, serve

ANALYTICS = "/analytics/daily-sales?from=2026-01-01&to=2026-12-31"


@pytest.fixture
def analyst(postgres_store: str, tmp_path: Path) -> Iterator[httpx.Client]:
    cluster = Settings(
        event_store_url=postgres_store,
        broker_url="kafka://127.0.0.1:9",  # the API reads the read models; it never connects
        hot_views_url="memory://",
        analytics_url=f"chdb://{tmp_path / 'worker-facts'}",
        chain_interval_seconds=0,
    )
    with (
        serve(cluster) as ledger,
        httpx.Client(base_url=ledger.base_url, headers=auth_headers(), timeout=30) as client,
    ):
        yield client


def off(response: httpx.Response) -> str:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["type"].endswith("read-models-off")
    detail: str = problem["detail"]
    return detail


def test_analytics_on_a_workers_chdb_path_say_whose_it_is_and_what_to_do(
    analyst: httpx.Client, tmp_path: Path
) -> None:
    detail = off(analyst.get(ANALYTICS))
    assert str(tmp_path / "worker-facts") in detail
    assert "worker" in detail and "http(s)://" in detail and "stopped" in detail
    assert "not set" not in detail


def test_in_process_hot_views_beside_a_broker_say_redis_is_needed(analyst: httpx.Client) -> None:
    detail = off(analyst.get("/availability/SERUM-1"))
    assert "memory://" in detail and "redis://" in detail and "worker" in detail


def test_an_empty_url_turns_a_model_off_and_says_how_to_turn_it_on(postgres_store: str) -> None:
    embedded = Settings(
        event_store_url=postgres_store,
        hot_views_url=None,
        analytics_url=None,
        chain_interval_seconds=0,
    )
    with (
        serve(embedded) as ledger,
        httpx.Client(base_url=ledger.base_url, headers=auth_headers(), timeout=30) as client,
    ):
        assert "GLOW_ANALYTICS_URL is empty" in off(client.get(ANALYTICS))
        assert "GLOW_HOT_VIEWS_URL is empty" in off(client.get("/availability/SERUM-1"))
