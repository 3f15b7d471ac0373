"""The behaviour tables on chDB: the identity graph's limits, idempotent rows, and the erasure
of a forgotten customer's behaviour (rows, stitched sessions, links; the counts stay)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client

from events.envelope import Envelope
from projections.behaviour_erasure import erase_behaviour
from projections.behaviour_queries import (
    customer_person,
    person_events,
    stitch_refusals,
)
from projections.behaviour_rows import EventRow, TrackedBatch
from projections.behaviour_tables import BehaviourTables
from projections.clickhouse_facts import apply_migrations, open_facts
from projections.erasure import FORGOTTEN, ReadStores, erase_forgotten, erase_late, just_made
from tests.erasure_proof import eventually_absent, in_folder


@pytest.fixture
def client(tmp_path: Path) -> Iterator[Client]:
    facts = open_facts(f"chdb://{tmp_path / 'chdb'}")
    apply_migrations(facts.client)
    yield facts.client
    facts.close()


def row(person: str = "", anonymous_id: str = "", event_id: str | None = None) -> EventRow:
    now = int(time.time() * 1000)
    return (
        event_id or str(uuid.uuid4()),
        now,
        now,
        "product_viewed",
        "web",
        person,
        anonymous_id,
        "SKU-1",
        '{"sku":"SKU-1"}',
        "",
    )


def stitch(anonymous_id: str, person: str) -> tuple[str, str, int]:
    return (anonymous_id, person, int(time.time() * 1000))


def count(client: Client, sql: str) -> int:
    return int(client.query(sql).result_rows[0][0])


def test_an_anonymous_id_belongs_to_its_first_person_and_a_person_has_a_limit(
    client: Client,
) -> None:
    tables = BehaviourTables(client, max_anonymous_ids=2)
    tables.write(TrackedBatch(stitches=[stitch("kiosk", "ann"), stitch("kiosk", "bob")]))
    tables.write(TrackedBatch(stitches=[stitch("kiosk", "bob"), stitch("phone", "ann")]))
    tables.write(TrackedBatch(stitches=[stitch("tablet", "ann"), stitch("kiosk", "ann")]))
    graph = client.query(
        "SELECT anonymous_id, person FROM behaviour_identities FINAL ORDER BY anonymous_id"
    ).result_rows
    assert graph == [("kiosk", "ann"), ("phone", "ann")]
    assert stitch_refusals(client) == {"other_person": 2, "person_full": 1}


def test_a_row_written_twice_is_one_row(client: Client) -> None:
    tables = BehaviourTables(client)
    same = row(anonymous_id="a", event_id=str(uuid.uuid4()))
    tables.write(TrackedBatch(events=[same]))
    tables.write(TrackedBatch(events=[same]))
    assert count(client, "SELECT count() FROM behaviour_events FINAL") == 1


def test_erasing_a_customer_takes_their_rows_sessions_and_link_and_no_one_elses(
    client: Client,
) -> None:
    tables = BehaviourTables(client)
    batch = TrackedBatch(
        events=[row("ann"), row("", "ann-phone"), row("bob"), row("", "stranger")],
        people=[("customer-ann", "ann", 0), ("customer-bob", "bob", 0)],
        stitches=[stitch("ann-phone", "ann"), stitch("bob-phone", "bob")],
    )
    batch.aggregates[("2026-12-04", "product_viewed", "web", "SKU-1")] += 4
    tables.write(batch)
    assert len(person_events(client, "ann")) == 2  # her own, and her phone's session
    erased = ["behaviour_events", "behaviour_identities", "behaviour_people"]
    assert erase_behaviour(client, "customer-ann") == erased
    assert person_events(client, "ann") == []
    assert customer_person(client, "customer-ann") is None
    left = client.query(
        "SELECT person, anonymous_id FROM behaviour_events ORDER BY person, anonymous_id"
    ).result_rows
    assert left == [("", "stranger"), ("bob", "")]
    assert client.query("SELECT anonymous_id FROM behaviour_identities").result_rows == [
        ("bob-phone",)
    ]
    assert count(client, "SELECT sum(events) FROM behaviour_aggregates") == 4
    assert erase_behaviour(client, "customer-ann") == []  # again: nothing left, no error


def test_behaviour_written_just_after_a_forget_is_erased_again(tmp_path: Path) -> None:
    """A batch decided before the forget committed can land after the forget was projected
    (the API's buffer, a worker's batch): a forget just made erases the behaviour once more."""
    facts = open_facts(f"chdb://{tmp_path / 'late'}")
    try:
        apply_migrations(facts.client)
        tables = BehaviourTables(facts.client)
        tables.write(TrackedBatch(events=[row("ann")], people=[("customer-ann", "ann", 0)]))
        now = datetime.now(tz=UTC).isoformat()
        forgotten = Envelope("customer-ann:9", 9, FORGOTTEN, "customer-ann", 9, now, 1, {}, {})
        old = Envelope(
            "customer-old:3", 3, FORGOTTEN, "customer-old", 3, "2020-01-01T00:00:00+00:00",
            1, {}, {},
        )  # fmt: skip
        stores = ReadStores(analytics=facts)
        assert erase_forgotten([forgotten, old], stores) == ["customer-ann", "customer-old"]
        assert customer_person(facts.client, "customer-ann") is None
        # the late batch: her link and a row, written after the erasure
        tables.write(TrackedBatch(events=[row("ann")], people=[("customer-ann", "ann", 0)]))
        erase_late(["customer-ann"], stores, after=0.1)
        deadline = time.monotonic() + 20
        while customer_person(facts.client, "customer-ann") is not None:
            assert time.monotonic() < deadline, "the late link was never erased"
            time.sleep(0.1)
        assert count(facts.client, "SELECT count() FROM behaviour_events WHERE person = 'ann'") == 0
    finally:
        facts.close()


def test_only_a_forget_just_made_is_erased_again() -> None:
    fresh = datetime.now(tz=UTC).isoformat()
    made = {
        "fresh": Envelope("c:1", 1, FORGOTTEN, "c", 1, fresh, 1, {}, {}),
        "old": Envelope("c:1", 1, FORGOTTEN, "c", 1, "2020-01-01T00:00:00+00:00", 1, {}, {}),
        "naive": Envelope("c:1", 1, FORGOTTEN, "c", 1, fresh[:-6], 1, {}, {}),
        "unreadable": Envelope("c:1", 1, FORGOTTEN, "c", 1, "yesterday", 1, {}, {}),
    }
    assert {name: just_made(e) for name, e in made.items()} == {
        "fresh": True,
        "old": False,
        "naive": True,
        "unreadable": False,
    }


@pytest.mark.slow  # over 15 s: CI's second pass (scripts/test -m slow)
def test_the_erased_rows_leave_the_files_on_disk(tmp_path: Path) -> None:
    """Deleted by mutations, not masked: once ClickHouse's cleanup has passed, no file of the
    folder holds the person's pseudonym or the customer's id."""
    folder = tmp_path / "disk"
    facts = open_facts(f"chdb://{folder}")
    try:
        apply_migrations(facts.client)
        person, customer = "pseudonym-5f1c9e", "customer-8d2a7b"
        BehaviourTables(facts.client).write(
            TrackedBatch(
                events=[row(person), row("", "phone-3e9")],
                people=[(customer, person, 0)],
                stitches=[stitch("phone-3e9", person)],
            )
        )
        assert in_folder(folder, [person, customer]) == [person, customer]
        erase_behaviour(facts.client, customer)
        assert eventually_absent(lambda: in_folder(folder, [person, customer]), 60) == []
    finally:
        facts.close()
