"""ClickHouse facts of purchases per customer: `customer_orders`, one row per order placed for
a known customer, a pure function of `Order.Placed` (which names the customer by their
pseudonymous id, events/envelope.py CUSTOMER_NAMED). An order placed for nobody gives no row.

Cancellations and refunds stay in `order_outcomes` (projections/order_facts.py), joined by
order id where segments need them (projections/segments.py). The rows hold no personal data;
forgetting a customer deletes theirs (projections/segment_erasure.py)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from events.envelope import Envelope

Rows = dict[str, list[tuple[Any, ...]]]

CUSTOMER_ORDER_COLUMNS: dict[str, tuple[str, ...]] = {
    "customer_orders": (
        "event_id", "customer_id", "order_id", "position", "placed_at", "recorded_at",
        "channel", "units", "value", "currency",
    ),
}  # fmt: skip
CUSTOMER_ORDER_KEYS: dict[str, tuple[str, ...]] = {"customer_orders": ("customer_id", "event_id")}


def _placed(e: Envelope, rows: Rows) -> None:
    p = e.payload
    customer_id = p.get("customer_id")
    if not customer_id:
        return
    lines, trace = p["lines"], p["trace"]
    value = sum((Decimal(line["unit_price"]) * line["quantity"] for line in lines), Decimal(0))
    rows["customer_orders"].append(
        (
            e.event_id, str(customer_id), e.aggregate_id, e.position, trace["occurred_at"],
            e.timestamp, trace["channel"], sum(int(line["quantity"]) for line in lines), value,
            p["currency"],
        )
    )  # fmt: skip


CUSTOMER_ORDER_HANDLERS: dict[str, Callable[[Envelope, Rows], None]] = {
    "Order.Placed": _placed,
}
