"""A running ledger on PostgreSQL keeps the audit hash chain up with its own commands."""

from __future__ import annotations

import time

import httpx

from audit.chain_status import chain_status
from audit.chain_verification import verify_chain
from configuration.settings import Settings
from tests.e2e.conftest import scratch_database
from tests.e2e.ledger_server import auth_headers, count_events, serve, stocked_sku


def test_the_chain_follows_the_commands_the_ledger_records() -> None:
    with (
        scratch_database() as url,
        serve(Settings(event_store_url=url, chain_interval_seconds=0.1)) as running,
    ):
        with httpx.Client(headers=auth_headers(), base_url=running.base_url) as client:
            stocked_sku(client, "CHAIN-SKU", "CHAIN-SHOP", {"B1": 5, "B2": 7})
        events = count_events(url)
        deadline = time.monotonic() + 10
        while chain_status(url)["chain_head"] < events and time.monotonic() < deadline:
            time.sleep(0.1)

        status = chain_status(url)
        report = verify_chain(url, key=None)

    assert events >= 5
    assert status["unchained_positions"] == 0
    assert report.intact
    assert report.rows_checked == status["log_head"]
