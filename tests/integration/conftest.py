"""Fixtures for tests against real services. CI always sets the service URLs, so a missing URL
fails the tests instead of skipping them."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql


def required_url(variable: str) -> str:
    url = os.environ.get(variable)
    if not url:
        pytest.fail(
            f"{variable} is not set: integration tests need real services; "
            "run them with scripts/test, which starts the services and sets it",
            pytrace=False,
        )
    return url


def with_database(url: str, database: str) -> str:
    return urlsplit(url)._replace(path=f"/{database}").geturl()


@pytest.fixture(scope="session")
def postgres_url() -> str:
    return required_url("GLOW_TEST_POSTGRES_URL")


@pytest.fixture
def scratch_database_url(postgres_url: str) -> Iterator[str]:
    """A new, empty database for one test, dropped afterwards."""
    name = f"glow_scratch_{secrets.token_hex(6)}"
    maintenance_url = with_database(postgres_url, "postgres")
    with psycopg.connect(maintenance_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield with_database(postgres_url, name)
    finally:
        with psycopg.connect(maintenance_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
