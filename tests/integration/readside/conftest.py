"""Fixtures for the read side on real services: Redis (a namespace of its own per test) and
chDB (one path per test session, since a process can open only one; a database per test)."""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from projections.clickhouse_facts import ClickHouseFacts, apply_migrations, open_facts
from projections.memory_views import MemoryHotViews
from projections.redis_views import RedisHotViews
from tests.integration.conftest import required_url

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit"))  # the shop's builders


@pytest.fixture(scope="session")
def redis_url() -> str:
    return required_url("GLOW_TEST_REDIS_URL")


@pytest.fixture
def redis_views(redis_url: str) -> Iterator[RedisHotViews]:
    views = RedisHotViews.from_url(redis_url, namespace=f"glow-test-{secrets.token_hex(4)}")
    try:
        yield views
    finally:
        views.drop_everything()
        views.client.close()


@pytest.fixture(params=["redis", "memory"])
def hot_views(request: pytest.FixtureRequest) -> RedisHotViews | MemoryHotViews:
    if request.param == "memory":
        return MemoryHotViews()
    views: RedisHotViews = request.getfixturevalue("redis_views")
    return views


@pytest.fixture(scope="session")
def chdb_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"chdb://{tmp_path_factory.mktemp('chdb')}/analytics"


@pytest.fixture
def analytics_url(chdb_url: str) -> str:
    return f"{chdb_url}?database=t_{secrets.token_hex(4)}"


@pytest.fixture
def facts(analytics_url: str) -> Iterator[ClickHouseFacts]:
    store = open_facts(analytics_url)
    apply_migrations(store.client)
    try:
        yield store
    finally:
        store.client.command(f"DROP DATABASE IF EXISTS `{store.client.database}` SYNC")
        store.close()
