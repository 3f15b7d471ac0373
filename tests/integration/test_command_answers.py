"""Idempotency answers commit in the same transaction as the command's events, on both stores."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from eventsourcing.persistence import IntegrityError

from configuration.settings import eventsourcing_env
from domain.ledger import InventoryLedger
from domain.location import Location, LocationDirectory
from domain.trace import Trace
from storage.command_answers import CommandAnswer
from storage.migrations import apply_migrations
from storage.recorders import ANSWERS


@pytest.fixture(params=["postgres", "postgres-statements", "sqlite"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[InventoryLedger]:
    if request.param.startswith("postgres"):
        url = request.getfixturevalue("scratch_database_url")
        apply_migrations(url)
    else:
        url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    app = InventoryLedger(env=eventsourcing_env(url))
    if request.param == "postgres-statements":  # a table the migrations made no function for
        app.recorder._has_append_function = False  # type: ignore[attr-defined]
    try:
        yield app
    finally:
        app.close()


def warehouse(code: str) -> Location:
    trace = Trace("backoffice", "tester", datetime(2026, 1, 1, tzinfo=UTC))
    return Location.register(code, f"Warehouse {code}", "warehouse", 52.0, 4.0, trace)


def answer(key: str, body: dict[str, object]) -> CommandAnswer:
    return CommandAnswer(key, f"fingerprint-of-{key}", body, created=True)


def test_an_answer_is_stored_with_the_events_of_its_command(ledger: InventoryLedger) -> None:
    directory = LocationDirectory.open()
    ledger.events.put(directory.collect_events(), **{ANSWERS: [answer("k1", {"n": [1, 2]})]})

    assert ledger.recorder.select_answer("k1") == answer("k1", {"n": [1, 2]})  # type: ignore[attr-defined]
    assert ledger.repository.get(directory.id).version == 1


def test_a_second_answer_for_a_key_undoes_the_events_it_came_with(
    ledger: InventoryLedger,
) -> None:
    ledger.events.put(warehouse("WH1").collect_events(), **{ANSWERS: [answer("k1", {"n": 1})]})
    head = ledger.recorder.max_notification_id()

    with pytest.raises(IntegrityError):
        ledger.events.put(warehouse("WH2").collect_events(), **{ANSWERS: [answer("k1", {"n": 2})]})

    assert ledger.recorder.max_notification_id() == head
    assert ledger.recorder.select_answer("k1") == answer("k1", {"n": 1})  # type: ignore[attr-defined]


def test_an_answer_alone_is_stored_when_its_command_changed_nothing(
    ledger: InventoryLedger,
) -> None:
    ledger.events.put([], **{ANSWERS: [answer("k2", {"unchanged": True})]})
    assert ledger.recorder.select_answer("k2") == answer("k2", {"unchanged": True})  # type: ignore[attr-defined]
    assert ledger.recorder.select_answer("unknown") is None  # type: ignore[attr-defined]


def test_on_migrated_postgres_a_group_is_appended_in_one_call_that_notifies_listeners(
    scratch_database_url: str,
) -> None:
    import psycopg

    apply_migrations(scratch_database_url)
    app = InventoryLedger(env=eventsourcing_env(scratch_database_url))
    try:
        with psycopg.connect(scratch_database_url, autocommit=True) as listener:
            listener.execute("LISTEN inventory_events")
            app.events.put(warehouse("WH1").collect_events(), **{ANSWERS: [answer("k1", {})]})
            notified = list(listener.notifies(timeout=5, stop_after=1))
        assert app.recorder._has_append_function is True  # type: ignore[attr-defined]
        assert [n.channel for n in notified] == ["inventory_events"]
        assert app.recorder.max_notification_id() == 1
    finally:
        app.close()


def test_a_stale_version_is_refused_and_takes_its_answers_with_it(
    ledger: InventoryLedger,
) -> None:
    """What optimistic concurrency rests on: a second writer's event at a version already
    taken is an IntegrityError, and nothing of its transaction stays."""
    first = warehouse("WH1")
    events = first.collect_events()
    ledger.events.put(events)
    head = ledger.recorder.max_notification_id()

    with pytest.raises(IntegrityError):
        ledger.events.put(events, **{ANSWERS: [answer("k-stale", {"n": 1})]})

    assert ledger.recorder.max_notification_id() == head
    assert ledger.recorder.select_answer("k-stale") is None  # type: ignore[attr-defined]


def test_the_append_is_prepared_again_on_a_session_that_lost_it(
    scratch_database_url: str,
) -> None:
    """A pooled connection that never saw the append (or was reset) prepares it on first use;
    the notification ids returned are the ones the rows got."""
    apply_migrations(scratch_database_url)
    env = eventsourcing_env(scratch_database_url)
    env.update(POSTGRES_POOL_SIZE="1", POSTGRES_MAX_OVERFLOW="0")  # one session, reused
    app = InventoryLedger(env=env)
    try:
        recorder = app.recorder
        first = recorder.insert_events(  # type: ignore[call-arg]
            [app.mapper.to_stored_event(e) for e in warehouse("WH1").collect_events()]
        )
        with app.recorder.datastore.get_connection() as conn:  # type: ignore[attr-defined]
            prepared = "SELECT count(*) AS n FROM pg_prepared_statements WHERE name = %s"
            assert conn.execute(prepared, ("glow_group_append",)).fetchone() == {"n": 1}
            conn.execute("DEALLOCATE ALL")
        second = recorder.insert_events(
            [app.mapper.to_stored_event(e) for e in warehouse("WH2").collect_events()]
        )
        assert list(first or []) + list(second or []) == [1, 2]
        assert [n.id for n in recorder.select_notifications(1, 10)] == [1, 2]  # type: ignore[attr-defined]
    finally:
        app.close()
