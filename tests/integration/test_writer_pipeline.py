"""The writer process's pipeline (service_layer/writer_loop.py) on a real PostgreSQL: a group
decided while the one before it was in flight must never stand on state that did not commit.

The two ways a group in flight fails: another writer changed the same stock first (a stale
version), and the connection dies with the outcome unknown. Either way every command is
answered once, by what the store really holds, and a retry with the same key changes nothing.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future

import psycopg
import pytest

from domain import commands as c
from domain.errors import InsufficientStockError
from service_layer.command_writer import Outcome
from service_layer.group_append import APPLICATION_NAME
from service_layer.settings import Settings
from service_layer.writer_process import RemoteWriter
from tests.e2e.ledger_server import count_events
from tests.integration.soap_shop import TRACE, soap_shop


def _sale() -> c.SellDirect:
    return c.SellDirect(uuid.uuid4(), (c.StockLine("SOAP", "SHOP", 1),), TRACE)


@pytest.fixture
def plenty() -> Iterator[str]:
    yield from soap_shop(100_000)


@pytest.fixture
def scarce() -> Iterator[str]:
    yield from soap_shop(50)


def _remote(url: str) -> RemoteWriter:
    writer = RemoteWriter(Settings(event_store_url=url, writer_process=True))
    writer.start()
    return writer


def _settle(futures: list[Future[Outcome]]) -> tuple[list[Outcome], list[BaseException]]:
    outcomes, errors = [], []
    for future in futures:
        error = future.exception(timeout=60)
        if error is None:
            outcomes.append(future.result())
        else:
            errors.append(error)
    return outcomes, errors


def test_a_lost_connection_in_flight_loses_nothing_and_applies_nothing_twice(
    plenty: str,
) -> None:
    writer = _remote(plenty)
    keys = [f"sale-{n}" for n in range(1500)]
    sales = {key: _sale() for key in keys}
    before = count_events(plenty)
    cuts = 0
    futures: list[Future[Outcome]] = []
    with psycopg.connect(plenty, autocommit=True) as admin:
        for burst, start in enumerate(range(0, len(keys), 50)):  # groups are in flight
            futures += [writer.submit(sales[k], k, "f") for k in keys[start : start + 50]]
            time.sleep(0.002)
            if burst % 3 == 2:  # cut the writer's connection, whatever it is doing
                row = admin.execute(
                    "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity"
                    " WHERE application_name = %s",
                    (APPLICATION_NAME,),
                ).fetchone()
                cuts += bool(row and row[0])
    outcomes, errors = _settle(futures)
    try:
        assert errors == []
        assert [o.status for o in outcomes] == [200] * len(keys)
        assert cuts >= 3, "the connection was never cut: the test proved nothing"
        assert count_events(plenty) == before + len(keys)  # each sale once, none lost

        retried, errors = _settle([writer.submit(sales[k], k, "f") for k in keys])
        assert errors == []
        assert all(o.replayed for o in retried)
        assert [o.body for o in retried] == [o.body for o in outcomes]
        assert count_events(plenty) == before + len(keys)
    finally:
        writer.stop()


def test_two_writers_racing_for_the_last_units_sell_each_exactly_once(scarce: str) -> None:
    """Each writer process decides on its own cache; every group that loses the race to the
    other's commit is decided again on the stored state, so 50 units make 50 sales."""
    writers = [_remote(scarce), _remote(scarce)]
    before = count_events(scarce)
    try:
        futures: list[Future[Outcome]] = []
        for _ in range(20):
            for writer in writers:
                futures += [writer.submit(_sale(), uuid.uuid4().hex, "f") for _ in range(4)]
        outcomes, errors = _settle(futures)
    finally:
        for writer in writers:
            writer.stop()
    assert len(outcomes) == 50
    assert {o.status for o in outcomes} == {200}
    assert len(errors) == len(futures) - 50
    assert all(isinstance(e, InsufficientStockError) for e in errors), errors[:3]
    assert count_events(scarce) == before + 50
