"""Answers stored by the versions whose handlers returned HTTP statuses (`glow_command_answers`
keeps their `status` column: 201 or 200) replay exactly: the same status, the same body,
marked replayed, and nothing applied again. The rows are written here as those versions wrote
them, with SQL of our own, on both stores."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import httpx
import orjson
import psycopg
import pytest

from configuration.settings import Settings, eventsourcing_env
from storage.command_answers import scoped_key
from tests.e2e.ledger_server import (
    RunningLedger,
    auth_headers,
    count_answers,
    count_events,
    headers,
    serve,
    stocked_sku,
)

SUBJECT, CHANNEL = "e2e-tester", "web"  # whom auth_headers() and headers() speak for
OLD_ROW = (
    "INSERT INTO glow_command_answers (idempotency_key, fingerprint, status, response)"
    " VALUES ({0}, {0}, {0}, {0})"
)


@pytest.fixture(params=["postgres", "sqlite"])
def old_ledger(request: pytest.FixtureRequest) -> Iterator[RunningLedger]:
    store = request.getfixturevalue(f"{request.param}_store")
    with serve(Settings(event_store_url=store)) as running:
        yield running


def store_old_answer(
    ledger: RunningLedger, path: str, request_body: dict[str, Any], status: int, answer: Any
) -> str:
    """A row as the previous version stored it for this request; the key the client sends."""
    key = str(uuid.uuid4())
    row = (
        scoped_key(SUBJECT, CHANNEL, key),
        ledger.runtime.pseudonyms.fingerprint("POST", path, request_body),
        status,
        orjson.dumps(answer),
    )
    env = eventsourcing_env(ledger.store_url)
    if env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite":
        with closing(sqlite3.connect(env["SQLITE_DBNAME"])) as conn, conn:
            conn.execute(OLD_ROW.format("?"), row)
    else:
        with psycopg.connect(ledger.store_url) as conn:
            conn.execute(OLD_ROW.format("%s"), row)  # type: ignore[arg-type]
    return key


@pytest.mark.parametrize(
    ("path", "request_body", "status"),
    [
        (
            "/reservations",
            {"lines": [{"sku": "OLD-SKU", "location": "OLD-SHOP", "quantity": 1}]},
            201,
        ),
        ("/sales", {"lines": [{"sku": "OLD-SKU", "location": "OLD-SHOP", "quantity": 1}]}, 200),
        (
            "/locations",
            {"code": "OLD", "name": "Old", "kind": "store", "latitude": 1, "longitude": 2},
            201,
        ),
    ],
)
def test_an_answer_stored_by_the_previous_version_replays_its_status_and_body(
    old_ledger: RunningLedger, path: str, request_body: dict[str, Any], status: int
) -> None:
    answer = {"stored": "by the previous version", "status_was": status}
    key = store_old_answer(old_ledger, path, request_body, status, answer)
    events, answers = count_events(old_ledger.store_url), count_answers(old_ledger.store_url)

    with httpx.Client(base_url=old_ledger.base_url, headers=auth_headers(), timeout=30) as http:
        replayed = http.post(path, json=request_body, headers=headers(key, CHANNEL))

    assert replayed.status_code == status
    assert replayed.json() == answer
    assert replayed.headers["idempotent-replayed"] == "true"
    assert count_events(old_ledger.store_url) == events
    assert count_answers(old_ledger.store_url) == answers


@pytest.mark.parametrize(("status", "matched"), [(201, False), (200, True)])
def test_a_registration_answered_by_the_previous_version_replays_created_or_matched(
    ledger: RunningLedger, client: httpx.Client, status: int, matched: bool
) -> None:
    request_body = {"name": "Old Answer", "email": f"old-{uuid.uuid4().hex[:8]}@example.com"}
    answer = {"customer_id": str(uuid.uuid4()), "matched": matched}
    key = store_old_answer(ledger, "/customers", request_body, status, answer)

    replayed = client.post("/customers", json=request_body, headers=headers(key, CHANNEL))

    assert replayed.status_code == status
    assert replayed.json() == answer
    assert replayed.headers["idempotent-replayed"] == "true"


def test_an_answer_is_still_stored_with_the_status_the_previous_version_wrote(
    ledger: RunningLedger, client: httpx.Client
) -> None:
    """So that a rolled-back deployment replays the answers this one stored."""
    stocked_sku(client, "NEW-SKU", "NEW-SHOP", {"B1": 1})  # a product, a location, a receipt
    with psycopg.connect(ledger.store_url) as conn:
        rows = conn.execute("SELECT status FROM glow_command_answers").fetchall()
    assert sorted(status for (status,) in rows) == [200, 201, 201]
