"""ClickHouse facts of orders: rows for the order tables, a pure function of one Order event.

- `orders`: one row per order placed: its channel, when it was placed, ship or pickup (and the
  pickup store), how many lines and items (a kit counts once), their amount and currency.
  No customer and no address: orders are published without either (events/published.py).
- `order_lines`: one row per line placed or added by an edit (SKU, items, unit price).
- `fulfilments`: one row per fulfilment order per event that moves it. Sourcing gives the
  `open` row, the only one naming the location, the method (ship or pickup) and the units it
  takes (stock units: a kit's components one by one); a step gives a row with the state it
  reaches (`picking` ... `collected`, `not_collected`); a cancellation or a failed payment a
  `cancelled` row per fulfilment order withdrawn; an edit a `withdrawn` row (the order is
  sourced again under new ids); a partial cancellation a `reduced` row with minus the units
  it took out (also for a till's late sale: lines cancelled for shortage, or units re-sourced,
  which open new fulfilment orders elsewhere).
- `order_outcomes`: cancellations, payments, returns and refunds, with items and amounts.

Rows are keyed by event id (and a line number when one event gives several), as the other facts.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from domain.order import Order
from domain.sourcing import PICKUP
from events.envelope import Envelope

Rows = dict[str, list[tuple[Any, ...]]]

ORDER_COLUMNS: dict[str, tuple[str, ...]] = {
    "orders": (
        "event_id", "order_id", "position", "placed_at", "channel", "delivery", "pickup_store",
        "lines", "items", "amount", "currency",
    ),
    "order_lines": (
        "event_id", "line", "order_id", "position", "occurred_at", "kind", "line_id", "sku",
        "quantity", "unit_price",
    ),
    "fulfilments": (
        "event_id", "line", "order_id", "fulfilment_id", "position", "occurred_at", "state",
        "location", "method", "units",
    ),
    "order_outcomes": (
        "event_id", "order_id", "position", "occurred_at", "channel", "kind", "rma_id",
        "location", "items", "amount",
    ),
}  # fmt: skip
ORDER_KEYS: dict[str, tuple[str, ...]] = {
    "orders": ("event_id",),
    "order_lines": ("event_id", "line"),
    "fulfilments": ("event_id", "line"),
    "order_outcomes": ("event_id",),
}

# The fulfilment states rows name besides each step's own (`Order.Shipped.reaches`, ...).
OPENED, CANCELLED, WITHDRAWN, REDUCED = "open", "cancelled", "withdrawn", "reduced"


def _placed(e: Envelope, rows: Rows) -> None:
    p, trace = e.payload, e.payload["trace"]
    lines, delivery = p["lines"], p["delivery"]
    amount = sum((Decimal(line["unit_price"]) * line["quantity"] for line in lines), Decimal(0))
    rows["orders"].append(
        (
            e.event_id, e.aggregate_id, e.position, trace["occurred_at"], trace["channel"],
            delivery["method"], delivery.get("store", "") if delivery["method"] == PICKUP else "",
            len(lines), sum(line["quantity"] for line in lines), amount, p["currency"],
        )
    )  # fmt: skip
    _lines(e, rows, "placed", lines)


def _lines(e: Envelope, rows: Rows, kind: str, lines: list[dict[str, Any]]) -> None:
    occurred_at = e.payload["trace"]["occurred_at"]
    rows["order_lines"] += [
        (
            e.event_id, i, e.aggregate_id, e.position, occurred_at, kind, line["line_id"],
            line["sku"], line["quantity"], Decimal(line["unit_price"]),
        )
        for i, line in enumerate(lines)
    ]  # fmt: skip


def _fulfilment_rows(e: Envelope, rows: Rows, states: list[tuple[str, str, str, str, int]]) -> None:
    """(fulfilment id, state, location, method, units) for each row of the event."""
    occurred_at = e.payload["trace"]["occurred_at"]
    rows["fulfilments"] += [
        (e.event_id, i, e.aggregate_id, fulfilment, e.position, occurred_at, state, *rest)
        for i, (fulfilment, state, *rest) in enumerate(states)
    ]


def _sourced(e: Envelope, rows: Rows) -> None:
    _fulfilment_rows(
        e,
        rows,
        [
            (f["fulfilment_id"], OPENED, f["location"], f["method"], _units(f["lines"]))
            for f in e.payload["fulfilments"]
        ],
    )


def _units(lines: list[dict[str, Any]]) -> int:
    return sum(int(line["quantity"]) for line in lines)


def _progressed(state: str) -> Callable[[Envelope, Rows], None]:
    def handler(e: Envelope, rows: Rows) -> None:
        _fulfilment_rows(e, rows, [(e.payload["fulfilment_id"], state, "", "", 0)])

    return handler


def _ended(state: str, outcome: str | None) -> Callable[[Envelope, Rows], None]:
    """A cancellation, a failed payment (`cancelled`) or an edit (`withdrawn`)."""

    def handler(e: Envelope, rows: Rows) -> None:
        withdrawn = e.payload["withdrawn"]
        _fulfilment_rows(e, rows, [(f, state, "", "", 0) for f in withdrawn])
        if outcome is not None:
            _outcome(e, rows, outcome)

    return handler


def _edited(e: Envelope, rows: Rows) -> None:
    _ended(WITHDRAWN, None)(e, rows)
    _lines(e, rows, "added", e.payload["added"])


def _lines_cancelled(e: Envelope, rows: Rows) -> None:
    _fulfilment_rows(e, rows, _reduced(e.payload["removed"]))
    _outcome(e, rows, "lines_cancelled", items=sum(e.payload["lines"].values()))


def _reduced(removed: list[dict[str, Any]]) -> list[tuple[str, str, str, str, int]]:
    return [(r["fulfilment_id"], REDUCED, "", "", -int(r["quantity"])) for r in removed]


def _cancelled_for_shortage(e: Envelope, rows: Rows) -> None:
    """A till's late sale took what the lines' fulfilment order held (`location`)."""
    p = e.payload
    _fulfilment_rows(e, rows, _reduced(p["removed"]))
    items = sum(p["lines"].values())
    _outcome(e, rows, "lines_cancelled_for_shortage", items=items, location=p["location"])


def _resourced(e: Envelope, rows: Rows) -> None:
    """A till's late sale took what a fulfilment order held: `reduced` rows for the units
    taken out, an `open` row for each new fulfilment order elsewhere."""
    opened = [
        (f["fulfilment_id"], OPENED, f["location"], f["method"], _units(f["lines"]))
        for f in e.payload["fulfilments"]
    ]
    _fulfilment_rows(e, rows, [*_reduced(e.payload["removed"]), *opened])


def _outcome(
    e: Envelope,
    rows: Rows,
    kind: str,
    *,
    items: int | None = None,
    amount: str | None = None,
    location: str = "",
) -> None:
    p, trace = e.payload, e.payload["trace"]
    rows["order_outcomes"].append(
        (
            e.event_id, e.aggregate_id, e.position, trace["occurred_at"], trace["channel"], kind,
            p.get("rma_id", ""), location, items, None if amount is None else Decimal(amount),
        )
    )  # fmt: skip


def _paid(kind: str) -> Callable[[Envelope, Rows], None]:
    def handler(e: Envelope, rows: Rows) -> None:
        _outcome(e, rows, kind, amount=e.payload["amount"])

    return handler


def _return_requested(e: Envelope, rows: Rows) -> None:
    _outcome(e, rows, "return_requested", items=sum(e.payload["lines"].values()))


def _return_received(e: Envelope, rows: Rows) -> None:
    p = e.payload
    items = sum(p["restocked"].values()) + sum(p["damaged"].values())
    _outcome(e, rows, "return_received", items=items, location=p["location"])


def _steps() -> dict[str, Callable[[Envelope, Rows], None]]:
    steps = (
        Order.PickingStarted, Order.Packed, Order.Shipped, Order.Delivered,
        Order.ReadyForPickup, Order.Collected, Order.NotCollected,
    )  # fmt: skip
    return {f"Order.{step.__name__}": _progressed(step.reaches) for step in steps}


ORDER_HANDLERS: dict[str, Callable[[Envelope, Rows], None]] = {
    "Order.Placed": _placed,
    "Order.Sourced": _sourced,
    **_steps(),
    "Order.Cancelled": _ended(CANCELLED, "cancelled"),
    "Order.PaymentFailed": _ended(CANCELLED, "payment_failed"),
    "Order.LinesEdited": _edited,
    "Order.LinesCancelled": _lines_cancelled,
    "Order.FulfilmentResourced": _resourced,
    "Order.LinesCancelledForShortage": _cancelled_for_shortage,
    "Order.PaymentAuthorised": _paid("payment_authorised"),
    "Order.PaymentCaptured": _paid("payment_captured"),
    "Order.ReturnRequested": _return_requested,
    "Order.ReturnReceived": _return_received,
    "Order.ReturnRefunded": _paid("return_refunded"),
}
