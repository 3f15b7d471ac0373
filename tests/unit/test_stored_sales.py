"""A sale's fact rows and its envelope straight from its stored form (msgspec structs): the
same rows and the same envelope the general paths give, for a log with odd values in it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import fields

import orjson
import pytest
from every_event import every_event_with_odd_values
from test_stored_envelopes import STORES

from domain.ledger import InventoryLedger
from domain.trace import Trace
from events.published import event_type_of
from projections.facts import Rows, batch_rows, no_rows
from streams.log_reader import LogReader
from streams.stored_envelopes import shape_of, stored_rows
from streams.stored_sales import SOLD, _Told, stored_sale_envelope, stored_sold_rows

SUBJECT = {"sku": "RED-01", "location": "WH"}


@pytest.fixture(params=sorted(STORES))
def ledger(request: pytest.FixtureRequest) -> Iterator[InventoryLedger]:
    app = InventoryLedger(env=STORES[request.param])
    app.save(*every_event_with_odd_values())
    yield app
    app.close()


def read_facts(reader: LogReader, after: int, limit: int, rows: Rows) -> tuple[int, int]:
    """A page's fact rows as a rebuild makes them: (published events, last position)."""
    stored = reader.stored_page(after, limit)
    return reader.facts_of(stored, rows), stored[-1][0] if stored else after


def counted(rows: Rows) -> dict[str, Counter[tuple[object, ...]]]:
    return {table: Counter(found) for table, found in rows.items()}


def test_the_rows_of_a_page_are_the_envelope_paths_rows(ledger: InventoryLedger) -> None:
    rows = no_rows()
    events, last = read_facts(LogReader(ledger), 0, 10_000, rows)
    batch = LogReader(ledger).read(0, 10_000)
    assert (events, last) == (len(batch.envelopes), batch.last_position)
    assert counted(rows) == counted(batch_rows(batch.envelopes))
    assert sum(envelope.type == SOLD for envelope in batch.envelopes) >= 3
    assert len(rows["sales_lines"]) >= 3


def test_a_page_read_in_small_pieces_gives_the_same_rows(ledger: InventoryLedger) -> None:
    whole, pieces = no_rows(), no_rows()
    reader = LogReader(ledger)
    read_facts(reader, 0, 10_000, whole)
    after, events = 0, 0
    while True:
        read, last = read_facts(reader, after, 3, pieces)
        if last == after:
            break
        after, events = last, events + read
    assert counted(pieces) == counted(whole)


def test_every_stored_sale_takes_the_direct_path() -> None:
    ledger = InventoryLedger(env=STORES["sqlite"])
    ledger.save(*every_event_with_odd_values())
    sales = [r for r in stored_rows(ledger.recorder, 0, 10_000) if event_type_of(r[3]) == SOLD]
    assert len(sales) >= 3
    for position, aggregate_id, version, _, data in sales:
        assert stored_sold_rows(no_rows(), position, aggregate_id, version, data, SUBJECT)


def stored_sale(**changes: object) -> bytes:
    state: dict[str, object] = {
        "timestamp": {"_type_": "datetime_iso", "_data_": "2026-11-27T07:26:15.290672+00:00"},
        "reservation_id": None,
        "allocations": {"B1": 1},
        "unit_price": {"_type_": "decimal_str", "_data_": "9.90"},
        "currency": "EUR",
        "trace": {
            "_type_": "trace",
            "_data_": {
                "channel": "pos",
                "principal": "till-4",
                "occurred_at": {"_type_": "datetime_iso", "_data_": "2026-11-27T07:26:15+00:00"},
            },
        },
    }
    return orjson.dumps({**state, **changes})


def test_a_plain_stored_sale_gives_its_rows() -> None:
    rows = no_rows()
    assert stored_sold_rows(rows, 7, "a", 3, stored_sale(), SUBJECT)
    assert len(rows["stock_movements"]) == len(rows["sales_lines"]) == 1


@pytest.mark.parametrize(
    "changes",
    [
        {"unit_price": {"_type_": "decimal_str", "_data_": "nine"}},
        {"unit_price": {"_type_": "money", "_data_": "9.90"}},
        {"allocations": {"B1": {"_type_": "decimal_str", "_data_": "1"}}},
        {"reservation_id": "not-a-stored-uuid"},
        {"class_version": 2},
        {"timestamp": "2026-11-27"},
        {"trace": {"_type_": "trace", "_data_": {"channel": "pos"}}},
    ],
    ids=[
        "bad decimal",
        "unknown tag",
        "tagged quantity",
        "bare id",
        "upcast",
        "bare time",
        "no time",
    ],
)
def test_a_sale_this_path_cannot_vouch_for_is_left_to_the_envelope_path(
    changes: dict[str, object],
) -> None:
    rows = no_rows()
    assert not stored_sold_rows(rows, 7, "a", 3, stored_sale(**changes), SUBJECT)
    assert rows == no_rows()  # nothing half appended


def test_every_stored_sale_gives_the_envelope_the_object_path_gives() -> None:
    """The typed path is taken for each sale (not left to the general one), and its envelope
    is byte for byte the one eventsourcing's mapper and `envelope_of` give."""
    ledger = InventoryLedger(env=STORES["sqlite"])
    ledger.save(*every_event_with_odd_values())
    through_objects = LogReader(ledger)
    through_objects.stored = None
    expected = {e.event_id: e for e in through_objects.read(0, 10_000).envelopes}
    reader = LogReader(ledger)
    reader.read(0, 10_000)  # the subjects of every aggregate, learnt
    sales = [r for r in stored_rows(ledger.recorder, 0, 10_000) if event_type_of(r[3]) == SOLD]
    for row in sales:
        shape = shape_of(row[3])
        envelope = stored_sale_envelope(
            row, shape.fields, shape.schema_version, reader.book.subject_for
        )
        assert envelope is not None
        assert envelope.to_json() == expected[envelope.event_id].to_json()
    assert any(expected[f"{r[1]}:{r[2]}"].payload["reservation_id"] for r in sales)


def test_the_stored_trace_decoder_knows_every_field_a_trace_has() -> None:
    """It refuses fields it does not know (the sale then goes the general way): a field added
    to Trace must be added to it too, or every sale would silently take the slow path."""
    assert _Told.__struct_fields__ == tuple(field.name for field in fields(Trace))
