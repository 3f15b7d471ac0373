"""Every event survives the real application's mapper, and a Stock survives a snapshot."""

from collections.abc import Iterator
from typing import Any

import pytest
from eventsourcing.domain import Aggregate
from every_event import busy_day
from memory_uow import MemoryUnitOfWork
from shop import LATEST, RED, WAREHOUSE, receive

from domain import catalog, location, preorders, reservation, stock, unmet_demand
from domain.ids import stock_id
from domain.ledger import InventoryLedger


@pytest.fixture
def ledger() -> Iterator[InventoryLedger]:
    app = InventoryLedger(
        env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": ":memory:"}
    )
    yield app
    app.close()


def event_classes() -> set[str]:
    found = set()
    for module in (catalog, location, preorders, reservation, stock, unmet_demand):
        for value in vars(module).values():
            if not (isinstance(value, type) and value.__module__ == module.__name__):
                continue
            for name, member in vars(value).items():
                written = name not in {"Event", "Created"}  # eventsourcing adds these two
                if written and isinstance(member, type) and issubclass(member, Aggregate.Event):
                    found.add(f"{value.__name__}.{name}")
    return found


def state(aggregate: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(aggregate).items() if k != "_pending_events"}


def test_the_busy_day_emits_every_kind_of_event():
    uow = busy_day()
    emitted = {type(e).__qualname__ for e in uow.all_events()}
    assert event_classes() - emitted == set()


def test_every_event_survives_the_ledgers_mapper(ledger):
    uow = busy_day()
    ledger.save(*uow.all_events())
    for aggregate_id, aggregate in uow.aggregates.items():
        assert state(ledger.repository.get(aggregate_id)) == state(aggregate)


def test_every_event_decodes_to_an_equal_event(ledger):
    uow = busy_day()
    ledger.save(*uow.all_events())
    for aggregate_id, events in uow.history.items():
        assert list(ledger.events.get(aggregate_id)) == events


def test_a_stock_snapshot_reloads_to_the_same_state(ledger):
    uow = busy_day()
    ledger.save(*uow.all_events())
    red = stock_id(RED, WAREHOUSE)
    ledger.take_snapshot(red)
    assert ledger.snapshots is not None
    assert len(list(ledger.snapshots.get(red))) == 1
    assert state(ledger.repository.get(red)) == state(uow.get(red))
    ledger.save(*_more_events(uow))
    assert state(ledger.repository.get(red)) == state(uow.get(red))


def _more_events(uow: MemoryUnitOfWork) -> list[Any]:
    uow.run(receive(batch="LATE", expiry=LATEST, quantity=4))
    return uow.last_events
