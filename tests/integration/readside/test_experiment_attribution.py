"""An experiment's figures computed in chDB (projections/experiment_metrics.py) over known rows
written through the behaviour tables (as the API's buffer writes them): each order is counted
once, whatever the number of exposures or of windows it falls in, only within N days of the
first exposure; clicks come from behaviour; the eraser leaves no row of a forgotten customer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from projections.behaviour_rows import TrackedBatch
from projections.behaviour_tables import BehaviourTables
from projections.clickhouse_facts import ClickHouseFacts
from projections.experiment_erasure import erase_experiments
from projections.experiment_metrics import variant_figures

EXPERIMENT = "6a1f4d2c-0b8e-4e51-9f3a-2d7c8b1e5a90"
T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def exposure(variant: str, person: str, at: datetime, broken: int = 0) -> tuple:  # type: ignore[type-arg]
    return (str(uuid.uuid4()), EXPERIMENT, variant, person, ["P1", "P2"], "personal", broken,
            ms(at))  # fmt: skip


def order(customer: str, order_id: str, at: datetime, value: str) -> tuple:  # type: ignore[type-arg]
    iso = at.isoformat()
    return (f"{order_id}:1", customer, order_id, 1, iso, iso, "web", 1, Decimal(value), "EUR")


def load(facts: ClickHouseFacts) -> None:
    batch = TrackedBatch()
    batch.experiment_people += [("cust-ann", "p-ann", ms(T0)), ("cust-bob", "p-bob", ms(T0)),
                                ("cust-cat", "p-cat", ms(T0))]  # fmt: skip
    # ann: exposed three times, days apart: her windows overlap
    batch.exposures += [exposure("control", "p-ann", T0 + timedelta(days=d)) for d in (0, 2, 4)]
    batch.exposures += [exposure("b", "p-bob", T0), exposure("b", "p-bob", T0, broken=1)]
    batch.exposures += [exposure("b", "p-cat", T0 + timedelta(days=1))]
    click = (str(uuid.uuid4()), ms(T0 + timedelta(hours=1)), ms(T0 + timedelta(hours=1)),
             "recommendation_clicked", "web", "p-bob", "", "SKU-1", "{}", "")  # fmt: skip
    batch.events.append(click)
    BehaviourTables(facts.client).write(batch)
    BehaviourTables(facts.client).write(batch)  # a batch written twice replaces itself
    rows = [
        order("cust-ann", "o-before", T0 - timedelta(days=3), "40"),  # the covariate, not a sale
        order("cust-ann", "o-1", T0 + timedelta(days=1), "10"),  # in all three windows' span
        order("cust-ann", "o-2", T0 + timedelta(days=5), "20"),
        order("cust-ann", "o-late", T0 + timedelta(days=8), "99"),  # 8 days after the first
        order("cust-bob", "o-3", T0 + timedelta(days=6), "30"),
        order("cust-zed", "o-4", T0 + timedelta(days=1), "50"),  # never exposed
    ]
    facts.client.insert(
        "customer_orders", rows,
        ["event_id", "customer_id", "order_id", "position", "placed_at", "recorded_at",
         "channel", "units", "value", "currency"],
    )  # fmt: skip
    facts.client.insert(
        "order_outcomes",
        [
            (
                "o-2:5",
                "o-2",
                5,
                T0 + timedelta(days=7),
                "web",
                "return_received",
                "rma",
                "w",
                1,
                Decimal(20),
            )
        ],
        [
            "event_id",
            "order_id",
            "position",
            "occurred_at",
            "channel",
            "kind",
            "rma_id",
            "location",
            "items",
            "amount",
        ],
    )


def test_each_order_is_attributed_once_within_n_days_of_the_first_exposure(
    facts: ClickHouseFacts,
) -> None:
    load(facts)
    found = {f.variant: f for f in variant_figures(facts.client, EXPERIMENT, 7)}
    control, b = found["control"], found["b"]
    assert (control.customers, control.exposures, control.converted) == (1, 3, 1)
    assert control.orders == 2  # o-1 and o-2 once each; o-late is past 7 days from day 0
    assert control.revenue_mean == 30.0 and control.pre_revenue_mean == 40.0
    assert control.returned_orders == 1 and control.rule_violations == 0
    assert (b.customers, b.exposures, b.orders, b.converted) == (2, 3, 1, 1)
    assert b.revenue_mean == 15.0 and b.rule_violations == 1
    assert b.clicks == 1 and b.clicks_mean == 0.5
    longer = {f.variant: f for f in variant_figures(facts.client, EXPERIMENT, 10)}
    assert longer["control"].orders == 3 and longer["control"].revenue_mean == 129.0


def test_forgetting_a_customer_erases_their_link_and_exposures(facts: ClickHouseFacts) -> None:
    load(facts)
    assert erase_experiments(facts.client, "cust-bob") == [
        "experiment_exposures",
        "experiment_people",
    ]
    left = facts.client.query(
        "SELECT count() FROM experiment_exposures WHERE person = 'p-bob'"
    ).result_rows[0][0]
    linked = facts.client.query(
        "SELECT count() FROM experiment_people WHERE customer_id = 'cust-bob'"
    ).result_rows[0][0]
    assert (left, linked) == (0, 0)
    found = {f.variant: f for f in variant_figures(facts.client, EXPERIMENT, 7)}
    assert found["b"].customers == 1 and found["control"].customers == 1
    assert erase_experiments(facts.client, "cust-bob") == []  # idempotent
