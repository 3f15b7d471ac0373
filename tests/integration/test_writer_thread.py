"""The in-process writer on the embedded SQLite store: the same pipelined loop as on
PostgreSQL, each group saved when it lands. A group that fails to save loses no command and
applies none twice; two writers on one file racing for the last units sell each once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from configuration.settings import eventsourcing_env
from domain import commands as c
from domain.errors import ConcurrencyConflictError, InsufficientStockError
from domain.ledger import InventoryLedger
from service_layer.writer import Outcome
from service_layer.writer_thread import InProcessWriter
from tests.integration.soap_shop import TRACE, stock_soap


def _sale() -> c.SellDirect:
    return c.SellDirect(uuid.uuid4(), (c.StockLine("SOAP", "SHOP", 1),), TRACE)


def _shop(tmp_path: Path, units: int) -> str:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    stock_soap(url, units)
    return url


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[InventoryLedger]:
    ledger = InventoryLedger(env=eventsourcing_env(_shop(tmp_path, 1000)))
    yield ledger
    ledger.close()


def _events(ledger: InventoryLedger) -> int:
    return ledger.recorder.max_notification_id() or 0


def test_a_group_that_fails_to_save_loses_nothing_and_applies_nothing_twice(
    ledger: InventoryLedger,
) -> None:
    insert = ledger.recorder.insert_events
    failures = [RuntimeError("the disk is full, once")]

    def fails_once(*args: Any, **kwargs: Any) -> Any:
        if failures:
            raise failures.pop()
        return insert(*args, **kwargs)

    ledger.recorder.insert_events = fails_once  # type: ignore[method-assign]
    writer = InProcessWriter(ledger)
    before = _events(ledger)
    keys = [f"sale-{n}" for n in range(40)]
    sales = {key: _sale() for key in keys}
    futures = [writer.submit(sales[k], k, "f") for k in keys]  # one group, queued before start
    writer.start()
    try:
        outcomes = [f.result(10) for f in futures]
        assert failures == [], "no save failed: the test proved nothing"
        assert [o.created for o in outcomes] == [False] * len(keys)
        assert _events(ledger) == before + len(keys)  # each sale once, none lost

        again = [writer.execute(sales[k], k, "f") for k in keys]
        assert all(o.replayed for o in again)
        assert [o.body for o in again] == [o.body for o in outcomes]
        assert _events(ledger) == before + len(keys)
    finally:
        writer.stop()


def test_two_writers_on_one_file_racing_for_the_last_units_sell_each_once(
    tmp_path: Path,
) -> None:
    url = _shop(tmp_path, 50)
    ledgers = [InventoryLedger(env=eventsourcing_env(url)) for _ in range(2)]
    writers = [InProcessWriter(ledger) for ledger in ledgers]
    before = _events(ledgers[0])
    for writer in writers:
        writer.start()
    try:
        futures: list[Future[Outcome]] = []
        for _ in range(20):
            for writer in writers:
                futures += [writer.submit(_sale(), uuid.uuid4().hex, "f") for _ in range(4)]
        errors = [f.exception(30) for f in futures]
    finally:
        for writer in writers:
            writer.stop()
        for ledger in ledgers:
            ledger.close()
    sold = [f for f, error in zip(futures, errors, strict=True) if error is None]
    assert len(sold) == 50
    assert {f.result().created for f in sold} == {False}
    # The rest are refused: no stock left, or (rarely, two writers on one file trading the
    # same stock) too many conflicts in a row, a refusal the caller retries with its key.
    refused = (InsufficientStockError, ConcurrencyConflictError)
    assert all(isinstance(e, refused) for e in errors if e is not None), [
        repr(e) for e in errors if e is not None and not isinstance(e, refused)
    ]
    ledger = InventoryLedger(env=eventsourcing_env(url))
    try:
        unmet = sum(isinstance(e, InsufficientStockError) for e in errors)  # each recorded
        assert _events(ledger) == before + 50 + unmet
    finally:
        ledger.close()
