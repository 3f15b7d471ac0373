"""Envelopes decoded straight from the stored JSON are, event by event and byte for byte, the
envelopes of the object path (the ledger's mapper, then `envelope_of`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import Mapper
from every_event import every_event_with_odd_values

from domain.ledger import InventoryLedger
from events.envelope import Envelope, utc_iso
from events.published import PUBLISHED_EVENTS, event_type_of
from streams.log_reader import LogReader
from streams.stored_envelopes import StoredEnvelopes, stored_rows
from streams.stored_json import plain_moment

STORES = {
    "popo": {"PERSISTENCE_MODULE": "eventsourcing.popo"},
    "sqlite": {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": ":memory:"},
    "compressed": {
        "PERSISTENCE_MODULE": "eventsourcing.popo",
        "COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor",
    },
}


class CustomMapper(Mapper[UUID]):
    """Stands for the customer ledger's unsealing mapper."""


@pytest.fixture(params=sorted(STORES))
def ledger(request: pytest.FixtureRequest) -> Iterator[InventoryLedger]:
    app = InventoryLedger(env=STORES[request.param])
    app.save(*every_event_with_odd_values())
    yield app
    app.close()


def both_paths(ledger: InventoryLedger) -> tuple[list[Envelope], list[Envelope]]:
    fast, through_objects = LogReader(ledger), LogReader(ledger)
    through_objects.stored = None
    return fast.read(0, 10_000).envelopes, through_objects.read(0, 10_000).envelopes


def test_the_log_holds_every_published_event_type(ledger: InventoryLedger) -> None:
    fast, _ = both_paths(ledger)
    assert {envelope.type for envelope in fast} == set(PUBLISHED_EVENTS)


def test_each_envelope_from_stored_json_is_byte_identical_to_the_object_paths(
    ledger: InventoryLedger,
) -> None:
    fast, through_objects = both_paths(ledger)
    assert len(fast) == len(through_objects) > 40
    for decoded, expected in zip(fast, through_objects, strict=True):
        assert decoded.to_json() == expected.to_json()
        assert decoded == expected


def test_no_published_event_falls_back_to_the_object_path(ledger: InventoryLedger) -> None:
    decoder = StoredEnvelopes.for_app(ledger)
    assert decoder is not None
    reader = LogReader(ledger)
    for row in stored_rows(ledger.recorder, 0, 10_000):
        event_type = event_type_of(row[3])
        if event_type is not None:
            assert decoder.envelope(row, event_type, reader.book.subject_for) is not None


def test_an_unknown_tag_falls_back_to_the_object_path() -> None:
    ledger = InventoryLedger(env=STORES["popo"])
    decoder = StoredEnvelopes(ledger.mapper)
    state = (
        b'{"timestamp":{"_type_":"datetime_iso","_data_":"2025-03-01T10:00:00+00:00"},'
        b'"batch":{"_type_":"batch","_data_":{}},"trace":null}'
    )
    row = (1, str(uuid4()), 2, "domain.stock:Stock.BatchQuarantined", state)
    assert decoder.envelope(row, "Stock.BatchQuarantined", lambda *_: {}) is None


def test_an_application_with_its_own_mapper_keeps_it() -> None:
    topic = f"{__name__}:CustomMapper"
    ledger = InventoryLedger(env={**STORES["popo"], "MAPPER_TOPIC": topic})
    assert type(ledger.mapper) is CustomMapper
    assert StoredEnvelopes.for_app(ledger) is None
    assert LogReader(ledger).stored is None


def test_a_time_outside_utc_is_published_in_utc(ledger: InventoryLedger) -> None:
    fast, _ = both_paths(ledger)
    repriced = [e for e in fast if e.type == "Sku.Repriced"][-1]
    assert repriced.payload["trace"]["occurred_at"] == "2025-03-01T10:00:00.000250+00:00"
    assert repriced.payload["price"] == "12"
    assert datetime.fromisoformat(repriced.timestamp).tzinfo == UTC


@pytest.mark.parametrize(
    "stored",
    [
        "2025-03-01T10:00:00+00:00",
        "2025-03-01T10:00:00.000250+00:00",
        "2025-03-01T10:00:00.000000+00:00",
        "2025-03-01T12:00:00.5+02:00",
        "2025-03-01T10:00:00",
        "2025-03-01 10:00:00.123456+00:00",
        "2025-03-01T09:00:00-01:00",
    ],
)
def test_a_stored_time_in_any_form_is_published_as_the_object_path_publishes_it(
    stored: str,
) -> None:
    assert plain_moment(stored) == utc_iso(datetime.fromisoformat(stored))
