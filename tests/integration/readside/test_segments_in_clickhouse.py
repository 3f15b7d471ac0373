"""Segments computed in chDB (projections/segments.py) over a known small data set: RFM
scores, churn risk, cohorts and as-of reproducibility, each expectation computed here in
Python from the same figures; and the eraser leaves no row of a forgotten customer."""

from __future__ import annotations

import itertools
import statistics
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from projections import segments
from projections.audience_definitions import compile_conditions
from projections.clickhouse_facts import ClickHouseFacts
from projections.customer_dimension import ACTIVE, WITHDRAWN, CustomerDimension, DimensionRow
from projections.segment_erasure import erase_segments
from projections.segments import AsOf

T0 = datetime(2026, 1, 1, tzinfo=UTC)
AS_OF = T0 + timedelta(days=200)
# customer -> (days after T0 of each purchase, value of each); all consent to analytics
PURCHASES: dict[str, list[tuple[int, str]]] = {
    "c-ann": [(10, "20"), (40, "35"), (70, "10"), (100, "30")],  # every 30 days, last 100 ago
    "c-bob": [(150, "200")],
    "c-cat": [(20, "5"), (190, "5")],
    "c-dan": [(60, "50"), (90, "50"), (120, "50"), (150, "50"), (180, "50")],  # every 30, recent
    "c-eve": [(30, "35")],
    "c-fay": [(100, "35"), (110, "35"), (120, "35")],  # every 10 days, last 80 ago: at risk
}
SKIN = {"c-ann": "dry", "c-bob": "oily", "c-cat": "dry", "c-dan": "normal"}


def _row(customer: str, version: int, status: str, at: datetime) -> DimensionRow:
    return DimensionRow(
        customer,
        version,
        at,
        status,
        T0,
        "web",
        SKIN.get(customer, "") if status == ACTIVE else "",
        ("acne",) if customer in ("c-ann", "c-dan") and status == ACTIVE else (),
        ("analytics", "marketing_email") if status == ACTIVE else (),
        "member",
    )


def load(facts: ClickHouseFacts) -> None:
    rows: list[DimensionRow] = [_row(c, 1, ACTIVE, T0) for c in [*PURCHASES, "c-gus"]]
    rows.append(_row("c-eve", 2, WITHDRAWN, T0 + timedelta(days=250)))  # after AS_OF
    CustomerDimension(facts.client).write(rows, "test", 1)
    orders = []
    for customer, bought in PURCHASES.items():
        for i, (day, value) in enumerate(bought):
            at = (T0 + timedelta(days=day)).isoformat()
            orders.append(
                (f"o-{customer}-{i}:1", customer, f"o-{customer}-{i}", 1, at, at, "web", 1,
                 Decimal(value), "EUR")
            )  # fmt: skip
    # an order of someone without analytics consent, and one recorded after AS_OF
    orders.append(("o-x:1", "c-none", "o-x", 1, T0.isoformat(), T0.isoformat(), "web", 1,
                   Decimal(99), "EUR"))  # fmt: skip
    late = (AS_OF + timedelta(days=1)).isoformat()
    orders.append(("o-late:1", "c-bob", "o-late", 1, late, late, "web", 1, Decimal(1), "EUR"))
    facts.write({"customer_orders": orders}, "test", 1)


def expected_rfm() -> dict[str, tuple[int, int, int]]:
    stats = {
        c: (max(d for d, _ in b), len(b), sum(Decimal(v) for _, v in b))
        for c, b in PURCHASES.items()
    }
    n = len(stats)

    def scores(index: int) -> dict[str, int]:
        values = [s[index] for s in stats.values()]
        return {c: 1 + 5 * (sum(v < s[index] for v in values)) // n for c, s in stats.items()}

    r, f, m = scores(0), scores(1), scores(2)
    return {c: (r[c], f[c], m[c]) for c in stats}


def test_rfm_scores_are_quintiles_of_rank_as_computed_in_python(facts: ClickHouseFacts) -> None:
    load(facts)
    found = segments.rfm(facts.client, AsOf(AS_OF))
    got = {
        r["customer_id"]: (r["recency_score"], r["frequency_score"], r["monetary_score"])
        for r in found
    }
    assert got == expected_rfm()
    assert "c-none" not in got and "c-gus" not in got  # no consent; no purchase
    bob = next(r for r in found if r["customer_id"] == "c-bob")
    assert bob["orders"] == 1 and float(bob["monetary"]) == 200.0  # the late order is not known


def test_churn_risk_compares_days_since_last_with_k_times_the_median_gap(
    facts: ClickHouseFacts,
) -> None:
    load(facts)
    found = {r["customer_id"]: r for r in segments.churn(facts.client, AsOf(AS_OF, 2.0, 3))}
    assert set(found) == {c for c, b in PURCHASES.items() if len(b) >= 3}
    for customer, row in found.items():
        days = [d for d, _ in PURCHASES[customer]]
        median = statistics.median(b - a for a, b in itertools.pairwise(days))
        since = 200 - days[-1]
        assert row["median_gap_days"] == median
        assert row["at_risk"] == (since > 2.0 * median), customer
    assert found["c-fay"]["at_risk"] and not found["c-dan"]["at_risk"]


def test_cohorts_count_customers_and_buyers_per_skin_type_and_concern(
    facts: ClickHouseFacts,
) -> None:
    load(facts)
    found = segments.cohorts(facts.client, AsOf(AS_OF))
    by_skin = {r["skin_type"]: (r["customers"], r["buyers"]) for r in found["skin_types"]}
    assert by_skin == {"dry": (2, 2), "oily": (1, 1), "normal": (1, 1), "unknown": (3, 2)}
    assert [(r["concern"], r["customers"]) for r in found["concerns"]] == [("acne", 2)]


def _members(facts: ClickHouseFacts, as_of: AsOf, conditions: list[dict[str, Any]]) -> list[str]:
    compiled = compile_conditions(conditions)
    rows = segments.profiles(facts.client, as_of, compiled.where, compiled.parameters)
    return [r["customer_id"] for r in rows]


def test_an_audience_as_of_a_moment_is_the_same_later_and_after_new_facts(
    facts: ClickHouseFacts,
) -> None:
    load(facts)
    rule = [{"trait": "orders", "op": ">=", "value": 1}, {"trait": "concerns", "op": "contains",
            "value": "acne"}]  # fmt: skip
    first = _members(facts, AsOf(AS_OF), rule)
    assert first == ["c-ann", "c-dan"]
    everyone = _members(facts, AsOf(AS_OF), [{"trait": "orders", "op": ">=", "value": 0}])
    assert "c-eve" in everyone and "c-gus" in everyone and "c-none" not in everyone
    later = _members(facts, AsOf(T0 + timedelta(days=260)), [{"trait": "orders", "op": ">=",
                     "value": 0}])  # fmt: skip
    assert "c-eve" not in later  # the tombstone: analytics withdrawn on day 250
    assert _members(facts, AsOf(AS_OF), rule) == first
    early = _members(facts, AsOf(T0 + timedelta(days=50)), [{"trait": "orders", "op": ">=",
                     "value": 2}])  # fmt: skip
    assert early == ["c-ann"]


def test_the_eraser_leaves_no_row_of_the_customer(facts: ClickHouseFacts) -> None:
    load(facts)
    erase_segments(facts.client, "c-ann")
    for table in ("customer_orders", "customer_dimension"):
        left = facts.client.query(
            f"SELECT count() FROM {table} WHERE customer_id = 'c-ann'"
        ).result_rows[0][0]
        assert left == 0
    assert "c-ann" not in _members(facts, AsOf(AS_OF), [{"trait": "orders", "op": ">=",
                                                          "value": 0}])  # fmt: skip
