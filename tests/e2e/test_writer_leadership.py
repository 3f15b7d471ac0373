"""One writer per store (storage/writer_lock.py): two API replicas on one PostgreSQL store, each
with its writer process. The first leads; the second stands by (not ready, its commands 503
with Retry-After, nothing recorded) and takes over when the leader's writer is killed under
load. Every command retried with its key is applied exactly once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import httpx
import psycopg
import pytest

from configuration.settings import Settings
from service_layer.writer_client import RemoteWriter
from storage.writer_lock import WRITER_LOCK_KEY, WriterLock
from tests.e2e.ledger_server import (
    RunningLedger,
    auth_headers,
    count_answers,
    count_events,
    eventually,
    headers,
    serve,
    stocked_sku,
)

SKU, SHOP = "SERUM-LEAD", "NANTES-1"
SALE = {"lines": [{"sku": SKU, "location": SHOP, "quantity": 1}]}
SALES = 60


@pytest.fixture
def replicas(postgres_store: str) -> Iterator[tuple[RunningLedger, RunningLedger]]:
    settings = Settings(
        event_store_url=postgres_store, writer_process=True, writer_lock_retry_seconds=0.2
    )
    with ExitStack() as stack:
        first = stack.enter_context(serve(settings))
        second = stack.enter_context(serve(settings))
        yield first, second


def lock_holders(store_url: str) -> int:
    with psycopg.connect(store_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1"
            " AND classid = %s::bigint::oid AND objid = %s::bigint::oid AND database ="
            " (SELECT oid FROM pg_database WHERE datname = current_database())",
            ((WRITER_LOCK_KEY & 0xFFFFFFFFFFFFFFFF) >> 32, WRITER_LOCK_KEY & 0xFFFFFFFF),
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_the_second_replica_stands_by_not_ready_and_refuses_commands_recording_nothing(
    replicas: tuple[RunningLedger, RunningLedger],
) -> None:
    leader, standby = replicas
    with httpx.Client(base_url=leader.base_url, headers=auth_headers(), timeout=30) as client:
        stocked_sku(client, SKU, SHOP, {"B1": 10})
    assert httpx.get(leader.base_url + "/health/ready").json() == {"status": "ready"}
    assert lock_holders(leader.store_url) == 1

    not_ready = httpx.get(standby.base_url + "/health/ready")
    assert not_ready.status_code == 503
    assert not_ready.headers["content-type"] == "application/problem+json"
    problem = not_ready.json()
    assert problem["type"] == "/problems/not-ready"
    assert problem["reasons"] == ["writer: the writer stands by: another writer leads this store"]
    assert "postgres" not in not_ready.text  # no URL, host or user in a public answer
    assert httpx.get(standby.base_url + "/health/live").json() == {"status": "live"}

    before = count_events(leader.store_url)
    refused = httpx.post(standby.base_url + "/sales", json=SALE, headers=headers(), timeout=30)
    assert refused.status_code == 503, refused.text
    assert refused.json()["type"] == "/problems/ledger-busy"
    assert "stands by" in refused.json()["detail"]
    assert refused.headers["retry-after"] == "1"
    assert count_events(leader.store_url) == before


def test_the_standby_takes_over_when_the_leader_dies_and_no_command_is_lost_or_doubled(
    replicas: tuple[RunningLedger, RunningLedger],
) -> None:
    leader, standby = replicas
    with httpx.Client(base_url=leader.base_url, headers=auth_headers(), timeout=30) as client:
        stocked_sku(client, SKU, SHOP, {"B1": SALES})
    answers_before = count_answers(leader.store_url)
    keys = [str(uuid.uuid4()) for _ in range(SALES)]
    writer = leader.runtime.writer
    assert isinstance(writer, RemoteWriter)

    def sell(base_url: str, key: str) -> int:
        response = httpx.post(base_url + "/sales", json=SALE, headers=headers(key), timeout=30)
        assert response.status_code in (200, 503), response.text
        return response.status_code

    with ThreadPoolExecutor(8) as pool:
        first_half = list(pool.map(lambda key: sell(leader.base_url, key), keys[: SALES // 2]))
        killing = pool.submit(writer._process.kill)  # say the OOM killer took it, mid-load
        second_half = list(pool.map(lambda key: sell(leader.base_url, key), keys[SALES // 2 :]))
        killing.result()
    assert first_half.count(200) == SALES // 2
    assert 503 in second_half  # once the writer was gone, the leader's API refused

    eventually(lambda: httpx.get(standby.base_url + "/health/ready").status_code, (200).__eq__)
    dead = httpx.get(leader.base_url + "/health/live")
    assert dead.status_code == 503 and dead.json()["type"] == "/problems/not-live"
    assert lock_holders(standby.store_url) == 1

    # Every caller retries its key on the replica that leads now: applied once, or replayed.
    replayed = 0
    for key in keys:
        again = httpx.post(standby.base_url + "/sales", json=SALE, headers=headers(key), timeout=30)
        assert again.status_code == 200, again.text
        replayed += again.headers.get("idempotent-replayed") == "true"
    assert replayed >= SALES // 2
    assert count_answers(standby.store_url) - answers_before == SALES
    stock = httpx.get(
        f"{standby.base_url}/skus/{SKU}/stock/{SHOP}", headers=auth_headers(), timeout=30
    ).json()
    assert stock["on_hand"] == 0, stock  # SALES units received, each key sold one


def test_a_writer_lock_is_one_per_database_and_goes_with_its_session(postgres_store: str) -> None:
    first, second = WriterLock(postgres_store), WriterLock(postgres_store)
    try:
        assert first.try_acquire() and first.still_held()
        assert not second.try_acquire()
        assert "backend pid" in second.holder()
        first.close()  # the server ends the session, and frees its lock, just after
        eventually(second.try_acquire, bool)
        assert second.still_held()
        assert not first.still_held()
    finally:
        first.close()
        second.close()
