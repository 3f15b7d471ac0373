"""The writers' pipeline (service_layer/writer_loop.py) on a real PostgreSQL, in the writer
process and in a thread of the API's: a group decided while the one before it was in flight
must never stand on state that did not commit.

The two ways a group in flight fails: another writer changed the same stock first (a stale
version), and the connection dies with the outcome unknown. Either way every command is
answered once, by what the store really holds, and a retry with the same key changes nothing.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from configuration.settings import Settings, eventsourcing_env
from domain import commands as c
from domain.errors import InsufficientStockError
from domain.ledger import InventoryLedger
from domain.trace import Trace
from service_layer.command_writer import CommandWriter, Submission
from service_layer.writer import Outcome, Writer
from service_layer.writer_client import RemoteWriter
from service_layer.writer_loop import WriterLoop
from service_layer.writer_thread import InProcessWriter
from storage.commit_channels import PipelinedAppend, commit_channel
from storage.group_append import APPLICATION_NAME
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


@contextmanager
def _remote(url: str) -> Iterator[Writer]:
    # Two writers race on one store on purpose here: the pipeline's own guards (optimistic
    # concurrency, decided again) are under test, not the store's writer lock, which would
    # make the second stand by (tests/e2e/test_writer_leadership.py tests that).
    settings = Settings(event_store_url=url, writer_process=True, writer_lock=False)
    writer = RemoteWriter(settings)
    writer.start()
    try:
        yield writer
    finally:
        writer.stop()


@contextmanager
def _in_process(url: str) -> Iterator[Writer]:
    ledger = InventoryLedger(env=eventsourcing_env(url))
    writer = InProcessWriter(ledger)
    writer.start()
    try:
        yield writer
    finally:
        writer.stop()
        ledger.close()


Transport = Callable[[str], AbstractContextManager[Writer]]


@pytest.fixture(params=[_in_process, _remote], ids=["writer-thread", "writer-process"])
def transport(request: pytest.FixtureRequest) -> Transport:
    return request.param  # type: ignore[no-any-return]


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
    plenty: str, transport: Transport
) -> None:
    with transport(plenty) as writer:
        _cut_while_selling(plenty, writer)


def _cut_while_selling(plenty: str, writer: Writer) -> None:
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
                cuts += _cut(admin)
    outcomes, errors = _settle(futures)
    assert errors == []
    assert [o.created for o in outcomes] == [False] * len(keys)
    assert cuts >= 3, "the connection was never cut: the test proved nothing"
    assert count_events(plenty) == before + len(keys)  # each sale once, none lost

    retried, errors = _settle([writer.submit(sales[k], k, "f") for k in keys])
    assert errors == []
    assert all(o.replayed for o in retried)
    assert [o.body for o in retried] == [o.body for o in outcomes]
    assert count_events(plenty) == before + len(keys)


def _cut(admin: psycopg.Connection[Any]) -> bool:
    """Cut the writer's connection, waiting for it while the writer has none (it opens it
    again with its next group, once it has decided the commands of the cut one again). Only
    in this test's database: other test runs on the same server have writers of their own."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        row = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity"
            " WHERE application_name = %s AND datname = current_database()",
            (APPLICATION_NAME,),
        ).fetchone()
        if row and row[0]:
            return True
        time.sleep(0.001)
    return False


def test_two_writers_racing_for_the_last_units_sell_each_exactly_once(
    scarce: str, transport: Transport
) -> None:
    """Each writer decides on its own cache; every group that loses the race to the other's
    commit is decided again on the stored state, so 50 units make 50 sales."""
    before = count_events(scarce)
    with transport(scarce) as one, transport(scarce) as other:
        futures: list[Future[Outcome]] = []
        for _ in range(20):
            for writer in (one, other):
                futures += [writer.submit(_sale(), uuid.uuid4().hex, "f") for _ in range(4)]
        outcomes, errors = _settle(futures)
    assert len(outcomes) == 50
    assert {o.created for o in outcomes} == {False}
    assert len(errors) == len(futures) - 50
    assert all(isinstance(e, InsufficientStockError) for e in errors), errors[:3]
    assert count_events(scarce) == before + 50 + len(errors)  # and each refusal's unmet demand


class _Bursts:
    """Frames stand-in: the loop reads these bursts of submissions, then sees the end."""

    def __init__(self, bursts: list[list[Submission]]) -> None:
        self._bursts = bursts

    def __call__(self, wait: bool = True) -> list[Any] | None:
        return self._bursts.pop(0) if self._bursts else None


def _run_loop(
    url: str, bursts: list[list[Submission]], arm: Callable[[CommandWriter], None]
) -> None:
    """The writer process's loop, in this process, on a real store, with faults armed."""
    ledger = InventoryLedger(env=eventsourcing_env(url))
    try:
        writer = CommandWriter(ledger)
        arm(writer)
        channel = commit_channel(ledger)
        assert isinstance(channel, PipelinedAppend)
        WriterLoop(writer, channel, _Bursts(bursts)).run()
    finally:
        ledger.close()


def _submissions(count: int) -> list[Submission]:
    return [Submission(_sale(), uuid.uuid4().hex, "f", Future()) for _ in range(count)]


def test_an_event_that_cannot_be_stored_fails_its_command_alone(plenty: str) -> None:
    bursts = [_submissions(6) for _ in range(4)]
    poison = Trace("pos", "poisoner", datetime.now(tz=UTC))
    sale = c.SellDirect(uuid.uuid4(), (c.StockLine("SOAP", "SHOP", 1),), poison)
    poisoned = bursts[1][2] = Submission(sale, uuid.uuid4().hex, "f", Future())

    def arm(writer: CommandWriter) -> None:
        encode = writer.ledger.mapper.to_stored_event

        def failing(event: Any) -> Any:
            if getattr(getattr(event, "trace", None), "principal", None) == "poisoner":
                raise ValueError("this event cannot be stored")
            return encode(event)

        writer.ledger.mapper.to_stored_event = failing  # type: ignore[method-assign]

    before = count_events(plenty)
    everyone = [s for burst in bursts for s in burst]
    _run_loop(plenty, [list(b) for b in bursts], arm)

    assert isinstance(poisoned.future.exception(timeout=0), ValueError)
    others = [s for s in everyone if s is not poisoned]
    assert [s.future.result(timeout=0).created for s in others] == [False] * len(others)
    assert count_events(plenty) == before + len(others)


def test_a_snapshot_that_fails_to_save_costs_no_command(plenty: str) -> None:
    """Snapshots only shorten cold loads: the commands whose events committed succeed."""
    tried: list[object] = []

    def arm(writer: CommandWriter) -> None:
        assert writer.ledger.snapshots is not None

        def failing(snapshots: object) -> None:
            tried.append(snapshots)
            raise RuntimeError("the snapshot store is unavailable")

        writer.ledger.snapshots.put = failing  # type: ignore[method-assign]

    bursts = [_submissions(10) for _ in range(15)]  # 150 sales: the stock passes 100 events
    everyone = [s for burst in bursts for s in burst]
    before = count_events(plenty)
    _run_loop(plenty, bursts, arm)

    assert tried, "no snapshot fell due: the test proved nothing"
    assert [s.future.result(timeout=0).created for s in everyone] == [False] * len(everyone)
    assert count_events(plenty) == before + len(everyone)
