"""Fixtures for the cluster path on real services: PostgreSQL, the Tansu broker that
scripts/test starts (GLOW_TEST_KAFKA_URL), Redis, and chDB paths owned by worker processes.
Every test gets its own database, topic prefix (so its own topics and worker group) and Redis
namespace, so tests share one broker without seeing each other's messages."""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from configuration.settings import Settings
from projections.redis_views import RedisHotViews
from tests.e2e.conftest import scratch_database
from tests.e2e.ledger_server import TEST_MASTER_KEY
from tests.integration.conftest import required_url

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit"))  # the shop's builders


@pytest.fixture(scope="session")
def kafka_url() -> str:
    return required_url("GLOW_TEST_KAFKA_URL")


@pytest.fixture(scope="session")
def redis_url() -> str:
    return required_url("GLOW_TEST_REDIS_URL")


@pytest.fixture
def store_url() -> Iterator[str]:
    with scratch_database() as url:
        yield url


@pytest.fixture
def cluster(store_url: str, kafka_url: str, redis_url: str, tmp_path: Path) -> Iterator[Settings]:
    """Settings of one cluster: its worker owns a chDB path of its own under tmp_path."""
    token = secrets.token_hex(4)
    namespace = f"glow-test-{token}"
    settings = Settings(
        event_store_url=store_url,
        broker_url=kafka_url,
        topic_prefix=f"t{token}.",
        hot_views_url=f"{redis_url}?namespace={namespace}",
        analytics_url=f"chdb://{tmp_path / 'worker-chdb'}",
        chain_interval_seconds=0,
        master_key=TEST_MASTER_KEY,
    )
    try:
        yield settings
    finally:
        RedisHotViews.from_url(redis_url, namespace).drop_everything()
