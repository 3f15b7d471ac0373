"""The order facts: rows that are a function of each Order event alone, keyed so that a
duplicate or a late redelivery leaves the same facts, and carrying no personal data."""

from __future__ import annotations

from decimal import Decimal

import orjson
from fulfilment_days import CITY, NORTH, PICKUP_STORE, fulfilment_days
from hypothesis import given, settings
from hypothesis import strategies as st
from test_fact_projector import replaced

from events.envelope import Envelope
from projections.facts import as_dicts, batch_rows
from projections.order_facts import ORDER_COLUMNS

LOG, ORDERS = fulfilment_days()
ORDER_EVENTS = [e for e in LOG.envelopes if e.type.startswith("Order.")]
ORDER_TABLES = tuple(ORDER_COLUMNS)


def rows_of(envelopes: list[Envelope]) -> dict[str, list[dict]]:
    return {t: rows for t, rows in as_dicts(batch_rows(envelopes)).items() if t in ORDER_TABLES}


def test_an_order_placed_is_one_row_with_its_channel_delivery_items_and_amount() -> None:
    b = ORDERS["B"]
    [row] = [r for r in rows_of(ORDER_EVENTS)["orders"] if r["order_id"] == str(b.order_id)]
    assert (row["channel"], row["delivery"], row["pickup_store"]) == ("web", "ship", "")
    assert (row["lines"], row["items"], row["currency"]) == (2, 2, "EUR")
    assert row["amount"] == Decimal("25.00")  # two lipsticks at 12.50
    assert row["placed_at"] == b.placed_at.isoformat()
    pickup = next(r for r in rows_of(ORDER_EVENTS)["orders"] if r["delivery"] == "pickup")
    assert pickup["pickup_store"] == PICKUP_STORE


def test_sourcing_gives_each_fulfilment_order_its_location_method_and_units() -> None:
    b = str(ORDERS["B"].order_id)
    opened = [
        (r["fulfilment_id"], r["location"], r["method"], r["units"])
        for r in rows_of(ORDER_EVENTS)["fulfilments"]
        if r["order_id"] == b and r["state"] == "open"
    ]
    assert opened == [("F1", CITY, "ship", 1), ("F2", NORTH, "ship", 1)]


def test_each_step_a_cancellation_and_a_partial_cancellation_are_rows_of_their_own() -> None:
    fulfilments = rows_of(ORDER_EVENTS)["fulfilments"]

    def states(name: str) -> list[tuple[str, int]]:
        order_id = str(ORDERS[name].order_id)
        return [(r["state"], r["units"]) for r in fulfilments if r["order_id"] == order_id]

    assert states("C") == [
        ("open", 3), ("reduced", -1), ("picking", 0), ("packed", 0), ("shipped", 0),
    ]  # fmt: skip
    assert [s for s, _ in states("E")][-2:] == ["ready_for_pickup", "not_collected"]
    assert states("F") == [("open", 1), ("cancelled", 0)]


def test_outcomes_tell_cancellations_with_their_items() -> None:
    outcomes = rows_of(ORDER_EVENTS)["order_outcomes"]
    kinds = {(r["order_id"], r["kind"]): r for r in outcomes}
    assert kinds[str(ORDERS["C"].order_id), "lines_cancelled"]["items"] == 1
    assert kinds[str(ORDERS["F"].order_id), "cancelled"]["items"] is None


def test_no_row_carries_a_customer_an_address_or_coordinates() -> None:
    text = orjson.dumps(rows_of(ORDER_EVENTS), default=str).decode()
    assert "52.37" not in text and "4.89" not in text
    assert "customer" not in text and "tester" not in text  # the trace's principal


@settings(max_examples=50, deadline=None)
@given(st.sampled_from(ORDER_EVENTS))
def test_an_events_rows_are_a_function_of_that_event_alone(envelope: Envelope) -> None:
    alone = rows_of([envelope])
    copied = Envelope.from_json(envelope.to_json())
    assert rows_of([copied]) == alone
    in_the_log = rows_of(ORDER_EVENTS)
    for table, rows in alone.items():
        assert all(row in in_the_log[table] for row in rows)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from(ORDER_EVENTS), max_size=40), st.randoms())
def test_duplicates_in_any_order_leave_the_same_facts(extra: list[Envelope], rng) -> None:
    redelivered = ORDER_EVENTS + extra
    rng.shuffle(redelivered)
    assert replaced(redelivered) == replaced(ORDER_EVENTS)
