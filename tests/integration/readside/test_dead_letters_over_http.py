"""A served ledger (the embedded driver, on the SQLite store and on PostgreSQL, with in-process
hot views and chDB facts) whose log holds a poison event: the read routes catch up past it,
/health, /metrics and `glow lag` count the letter, `glow dead-letters list` names it, and
`glow dead-letters retry` after the fix has the running ledger apply it and clear it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import shop

from cli.main import main
from configuration.settings import Settings
from tests.e2e.conftest import scratch_database
from tests.e2e.ledger_server import RunningLedger, auth_headers, eventually, serve
from tests.integration.readside.poisoned_log import ANCIENT, facts_fixed, write_poisoned_log


@pytest.fixture(params=["sqlite", "postgres"])
def running(
    request: pytest.FixtureRequest, tmp_path: Path, analytics_url: str
) -> Iterator[RunningLedger]:
    def served(store_url: str) -> Iterator[RunningLedger]:
        settings = Settings(
            event_store_url=store_url, hot_views_url="memory://", analytics_url=analytics_url
        )
        with serve(settings) as ledger:
            yield ledger

    if request.param == "sqlite":
        yield from served(f"sqlite:///{tmp_path}/ledger.sqlite")
        return
    with scratch_database() as url:
        yield from served(url)


def glow(store_url: str, *args: str) -> int:
    return main(["--store", store_url, "dead-letters", *args])


def test_a_poison_in_the_log_is_shown_and_retried_while_the_read_models_go_on(
    running: RunningLedger, capsys: pytest.CaptureFixture[str]
) -> None:
    write_poisoned_log(running.runtime.ledger)  # straight into the store, as old data would be
    with httpx.Client(base_url=running.base_url, headers=auth_headers(), timeout=30) as client:
        health = eventually(
            lambda: client.get("/health/detail").json()["read_models"],
            lambda found: found["dead_letters"] == {"hot_views": 0, "facts": 1},
        )
        assert health["retrying"] is False
        sales = eventually(
            lambda: client.get("/analytics/daily-sales?from=2025-01-01&to=2025-12-31").json(),
            lambda found: found["log"]["behind"] == 0,
        )
        assert sum(row["units"] for row in sales["rows"]) == 2  # the sale after the poison
        stock = client.get(f"/availability/{shop.RED}?location={shop.WAREHOUSE}").json()
        assert stock["availability"]["on_hand"] == 14 and stock["log"]["behind"] == 0
        assert 'glow_dead_letters{sink="facts"} 1' in client.get("/metrics").text

        if running.runtime.settings.is_postgres():  # glow lag follows PostgreSQL only
            assert main(["--store", running.store_url, "lag"]) == 0
            assert "dead letters: hot_views 0, facts 1, relay 0" in capsys.readouterr().out

        assert glow(running.store_url, "list") == 0
        listed = capsys.readouterr().out
        assert "facts" in listed and "Stock.BatchReceived" in listed and "DatabaseError" in listed
        assert ANCIENT not in listed  # ids and the error, never the payload

        assert glow(running.store_url, "retry", "--all", "--wait", "2") == 1  # not fixed yet
        assert "failed again" in capsys.readouterr().out
        with facts_fixed():
            assert glow(running.store_url, "retry", "--sink", "facts", "--all") == 0
        assert "applied" in capsys.readouterr().out
        assert client.get("/health/detail").json()["read_models"]["dead_letters"]["facts"] == 0
        assert 'glow_dead_letters{sink="facts"} 0' in client.get("/metrics").text
