"""The customer dimension's versions (projections/customer_dimension.py), a pure function of
one customer's history: rows only while the `analytics` consent holds, a tombstone when it
ends, nothing at all for a forgotten customer; and audience definitions that never compile
anything but the module's own text."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.customer import Customer
from domain.trace import Trace
from projections.audience_definitions import DefinitionError, canonical, compile_conditions
from projections.customer_dimension import ACTIVE, WITHDRAWN, dimension_rows

WEB = Trace("web", "tester", datetime(2026, 1, 1, tzinfo=UTC))
STEPS = st.lists(
    st.sampled_from(["grant", "withdraw", "skin", "tier", "grant-marketing"]), max_size=12
)


def history(steps: list[str], forget: bool = False) -> list[object]:
    customer = Customer.register(uuid.uuid4(), {"name": "A Person"}, WEB)
    for step in steps:
        if step == "grant":
            customer.grant_consent("analytics", "v1", WEB)
        elif step == "withdraw":
            customer.withdraw_consent("analytics", WEB)
        elif step == "grant-marketing":
            customer.grant_consent("marketing_email", "v1", WEB)
        elif step == "skin":
            customer.change_skin_profile({"skin_type": "dry", "concerns": ["acne"]}, WEB)
        else:
            customer.change_loyalty_tier("gold", WEB)
    if forget:
        customer.forget(WEB)
    return list(customer.collect_events())


@given(STEPS)
def test_rows_exist_only_while_analytics_is_granted_and_a_tombstone_ends_them(
    steps: list[str],
) -> None:
    events = history(steps)
    rows = dimension_rows(events)
    customer = None
    granted_at = {}
    for event in events:
        customer = event.mutate(customer)  # type: ignore[attr-defined]
        granted_at[customer.version] = customer.has_consent("analytics")
    for row in rows:
        assert (row.status == ACTIVE) == granted_at[row.version]
        if row.status != ACTIVE:
            assert row.skin_type == "" and row.consents == () and row.registered_on == ""
    versions = [row.version for row in rows]
    assert versions == sorted(set(versions))
    for before, after in itertools.pairwise(rows):
        assert before.status == ACTIVE or after.status == ACTIVE  # one tombstone at a time
    if not any(granted_at.values()):
        assert rows == []


@given(STEPS)
def test_a_forgotten_customer_has_no_rows(steps: list[str]) -> None:
    assert dimension_rows(history(["grant", *steps], forget=True)) == []


def test_a_consenting_customer_carries_cohorts_and_a_withdrawal_a_tombstone() -> None:
    rows = dimension_rows(history(["skin", "grant", "grant-marketing", "withdraw"]))
    assert [r.status for r in rows] == [ACTIVE, ACTIVE, WITHDRAWN]
    assert rows[1].skin_type == "dry" and rows[1].concerns == ("acne",)
    assert rows[1].consents == ("analytics", "marketing_email")


@pytest.mark.parametrize(
    "conditions, message",
    [
        ([], "at least one condition"),
        ([{"trait": "orders", "op": "contains", "value": 1}], "takes the operators"),
        ([{"trait": "recency_score", "op": ">=", "value": 9}], "whole number 1 to 5"),
        ([{"trait": "skin_type", "op": "=", "value": "scaly"}], "is not a skin_type"),
        ([{"trait": "orders", "op": "=", "value": "1; DROP TABLE x"}], "whole number"),
        ([{"trait": "churn_risk", "op": "=", "value": 1}], "true or false"),
        ([{"trait": "orders", "op": ">", "value": 1, "sql": "1=1"}], "exactly trait"),
    ],
)
def test_bad_definitions_say_what_was_wrong(conditions: list[object], message: str) -> None:
    with pytest.raises(DefinitionError, match=message):
        canonical(conditions)  # type: ignore[arg-type]


@given(
    st.lists(
        st.sampled_from(
            [
                {"trait": "orders", "op": ">=", "value": 2},
                {"trait": "skin_type", "op": "in", "value": ["dry", "oily"]},
                {"trait": "concerns", "op": "contains_any", "value": ["acne"]},
                {"trait": "favourite_product", "op": "=", "value": "X'); DROP"},
                {"trait": "churn_risk", "op": "=", "value": True},
            ]
        ),
        min_size=1,
        max_size=5,
    )
)
def test_values_travel_as_parameters_never_in_the_text(conditions: list[dict[str, object]]) -> None:
    try:
        compiled = compile_conditions(conditions)
    except DefinitionError:
        return  # the product code with a quote is refused
    for value in ("DROP", "dry", "oily", "acne", "True"):
        assert value not in compiled.where
    assert len(compiled.parameters) == len(conditions)


def test_every_rfm_cell_has_exactly_one_named_segment() -> None:
    from projections.segments import RFM_SEGMENTS, rfm_segment, rfm_summary

    for recency in range(1, 6):
        for frequency in range(1, 6):
            owners = [n for n, rs, fs in RFM_SEGMENTS if recency in rs and frequency in fs]
            assert owners == [rfm_segment(recency, frequency)]
    cells = [
        {
            "recency_score": 5,
            "frequency_score": 5,
            "monetary_score": 1,
            "customers": 2,
            "revenue": 10,
        },
        {
            "recency_score": 5,
            "frequency_score": 4,
            "monetary_score": 3,
            "customers": 1,
            "revenue": 2.5,
        },
        {
            "recency_score": 1,
            "frequency_score": 1,
            "monetary_score": 1,
            "customers": 4,
            "revenue": 1,
        },
    ]
    named = {s["segment"]: s for s in rfm_summary(cells)}
    assert named["champions"] == {"segment": "champions", "customers": 3, "revenue": 12.5}
    assert named["hibernating"]["customers"] == 4 and named["at_risk"]["customers"] == 0
