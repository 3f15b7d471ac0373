"""The tracking plan's verdicts, the behaviour pseudonym, and the behaviour topic's message
format: pure logic, no engine."""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events.tracking_plan import NOT_A_NAME, TrackingPlan, tracking_plan
from privacy.pseudonyms import behaviour_person
from projections.behaviour_rows import TrackedBatch

PLAN = tracking_plan()
skus = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", min_size=1, max_size=100)


def test_the_plan_names_every_event_of_the_contract() -> None:
    assert PLAN.names() == sorted(
        [
            "product_viewed",
            "products_searched",
            "product_added_to_cart",
            "recommendation_shown",
            "recommendation_clicked",
            "page_viewed",
            "order_completed",
        ]
    )


@pytest.mark.parametrize(
    ("event", "properties", "kind", "named"),
    [
        ("product_viewed", {}, "missing_property", "sku"),
        ("product_viewed", {"sku": 3}, "wrong_type", "sku"),
        ("product_viewed", {"sku": "A", "colour": "red"}, "unplanned_property", "colour"),
        ("product_added_to_cart", {"sku": "A", "quantity": 0}, "invalid_value", "quantity"),
        ("page_viewed", {"path": "/p?email=a@b.c"}, "invalid_value", "path"),
        ("recommendation_shown", {"skus": [1], "placement": "home"}, "wrong_type", "skus"),
        ("product_beamed", {}, "unknown_event", ""),
    ],
)
def test_each_kind_of_violation_names_what_was_wrong(
    event: str, properties: dict[str, Any], kind: str, named: str
) -> None:
    violation = PLAN.violation(event, properties)
    assert violation is not None
    assert (violation.kind, violation.property) == (kind, named)
    assert "expected" in violation.detail


def test_a_name_that_is_not_a_name_is_never_kept() -> None:
    """An email typed where an event or property name goes would be kept and reported."""
    unknown = PLAN.violation("ysolde@example.org", {})
    unplanned = PLAN.violation("product_viewed", {"sku": "A", "ysolde@example.org": 1})
    assert unknown is not None and unknown.event == NOT_A_NAME
    assert unplanned is not None and unplanned.property == NOT_A_NAME
    assert "example.org" not in unknown.detail + unplanned.detail


def test_free_text_is_checked_but_never_stored() -> None:
    properties = {"query": "serum for ysolde@example.org", "results": 2}
    assert PLAN.violation("products_searched", properties) is None
    assert PLAN.storable("products_searched", properties) == {"results": 2}


@given(
    sku=skus,
    quantity=st.integers(1, 1000),
    price=st.floats(0, 1e6, allow_nan=False) | st.integers(0, 10**6),
)
def test_every_event_the_plan_describes_passes_it(sku: str, quantity: int, price: float) -> None:
    cart = {"sku": sku, "quantity": quantity, "price": price, "currency": "EUR"}
    assert PLAN.violation("product_added_to_cart", cart) is None
    assert PLAN.violation("product_viewed", {"sku": sku}) is None
    assert PLAN.violation("product_added_to_cart", {"sku": sku}) is not None  # no quantity


@given(st.dictionaries(st.text(max_size=20), st.integers() | st.text(max_size=20), max_size=5))
def test_any_properties_get_a_verdict_never_an_error(properties: dict[str, Any]) -> None:
    for name in PLAN.names():
        violation = PLAN.violation(name, properties)
        assert violation is None or violation.event == name


def test_a_plan_is_compiled_once_from_its_folder(tmp_path: Any) -> None:
    (tmp_path / "tested.json").write_text(
        '{"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}'
    )
    plan = TrackingPlan.load(tmp_path)
    assert plan.names() == ["tested"]
    assert plan.violation("tested", {"n": 1}) is None
    found = plan.violation("tested", {"n": "1"})
    assert found is not None and found.kind == "wrong_type"


def test_the_behaviour_pseudonym_is_the_shared_contracts() -> None:
    key = os.urandom(32)
    expected = hmac.new(key, b"glowledger behaviour person v1", hashlib.sha256).hexdigest()[:32]
    assert behaviour_person(key) == expected
    assert behaviour_person(os.urandom(32)) != expected  # another key, another person


ids = st.text(alphabet="abcdef0123456789-", min_size=1, max_size=36)
rows = st.tuples(
    ids, st.integers(0, 2**41), st.integers(0, 2**41), ids, ids, ids, ids, ids, st.text(), ids
)


@given(
    events=st.lists(rows, max_size=5),
    counts=st.dictionaries(st.tuples(ids, ids, ids, ids), st.integers(1, 10**9), max_size=4),
    stitches=st.lists(st.tuples(ids, ids, st.integers(0, 2**41)), max_size=4),
)
def test_a_batch_is_the_same_after_the_topic(
    events: list[Any], counts: dict[Any, int], stitches: list[Any]
) -> None:
    batch = TrackedBatch(events=events, stitches=stitches)
    batch.aggregates.update(counts)
    again = TrackedBatch.from_json(batch.to_json())
    assert again == batch
