"""Fixtures for tests over HTTP: a scratch PostgreSQL database per test, and a real uvicorn
server in front of a ledger runtime built by the composition root.

PostgreSQL must be reachable: an unreachable server fails the tests, it never skips them."""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest
import redis
from psycopg import sql

from configuration.settings import Settings
from storage.migrations import apply_migrations
from tests.e2e.ledger_server import RunningLedger, auth_headers, serve, stocked_sku

POSTGRES_URL = os.environ.get(
    "GLOW_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/glow_test"
)


def prepare_schema(url: str) -> None:
    """Create the event store's tables with the same migrations `glow migrate` applies."""
    apply_migrations(url)


def with_database(url: str, database: str) -> str:
    return urlsplit(url)._replace(path=f"/{database}").geturl()


def _maintenance_connection() -> psycopg.Connection[tuple[object, ...]]:
    url = with_database(POSTGRES_URL, "postgres")
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        pytest.fail(
            f"PostgreSQL is unreachable at {url} ({error}); start it or point "
            "GLOW_TEST_POSTGRES_URL at a server where user may CREATE DATABASE",
            pytrace=False,
        )


@contextmanager
def scratch_database() -> Iterator[str]:
    """A new database with the event store's schema, dropped afterwards."""
    name = f"glow_e2e_{secrets.token_hex(5)}"
    with _maintenance_connection() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        url = with_database(POSTGRES_URL, name)
        prepare_schema(url)
        yield url
    finally:
        with _maintenance_connection() as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def postgres_store() -> Iterator[str]:
    with scratch_database() as url:
        yield url


@pytest.fixture
def sqlite_store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.sqlite'}"


@pytest.fixture
def ledger(postgres_store: str) -> Iterator[RunningLedger]:
    with serve(Settings(event_store_url=postgres_store)) as running:
        yield running


WRITERS = pytest.mark.parametrize(
    "writer_process", [False, True], ids=["writer-thread", "writer-process"]
)


@pytest.fixture
def writer_process() -> bool:
    return False


@pytest.fixture
def either_ledger(postgres_store: str, writer_process: bool) -> Iterator[RunningLedger]:
    """A server whose command writer runs in-process or in a process of its own; tests that
    take it are marked WRITERS to run with both."""
    with serve(Settings(event_store_url=postgres_store, writer_process=writer_process)) as running:
        yield running


@pytest.fixture
def client(ledger: RunningLedger) -> Iterator[httpx.Client]:
    with httpx.Client(headers=auth_headers(), base_url=ledger.base_url, timeout=30) as http:
        yield http


@contextmanager
def stocked_shop(sku: str, location: str, batches: dict[str, int]) -> Iterator[RunningLedger]:
    """A server on a scratch database whose SKU is stocked at one location (a module's shop)."""
    with scratch_database() as url, serve(Settings(event_store_url=url)) as running:
        with httpx.Client(headers=auth_headers(), base_url=running.base_url) as client:
            stocked_sku(client, sku, location, batches)
        yield running


REDIS_URL = os.environ.get("GLOW_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def recs_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Recommendations in a Redis namespace of the test's own, removed afterwards."""
    namespace = f"test-{uuid.uuid4().hex[:8]}"
    url = f"{REDIS_URL}?namespace={namespace}"
    monkeypatch.setenv("GLOW_RECOMMENDATIONS_URL", url)
    yield url
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{namespace}:*"))
    if keys:
        client.delete(*keys)
