"""What an order is worth in loyalty points' terms: the events that may settle it, and the
money its customer kept once it is settled. Pure, over the Order aggregate.

A sale is settled when its order is completed: every fulfilment order delivered, collected,
not collected or cancelled. From then on nothing of it can be cancelled, only returned, so
it earns once, on what was handed over at the lines' prices less what was refunded by then;
each later refund of a return loses its share (capped by what the sale earned)."""

from __future__ import annotations

from decimal import Decimal

from domain.order import COMPLETED, Order

# The events after which an order may have become completed (each checked on the order).
SETTLING_EVENTS = frozenset(
    {
        "Order.Delivered",
        "Order.Collected",
        "Order.NotCollected",
        "Order.LinesCancelled",
        "Order.LinesCancelledForShortage",
    }
)
REFUND_EVENT = "Order.ReturnRefunded"


def settled_value(order: Order) -> Decimal | None:
    """The money a completed order's customer kept; None while the order is not completed."""
    if order.status != COMPLETED:
        return None
    handed = sum(
        (line.unit_price * order.handed_over(line_id) for line_id, line in order.lines.items()),
        Decimal(0),
    )
    refunded = sum(
        (rma.refund for rma in order.returns.values() if rma.refund is not None), Decimal(0)
    )
    return max(Decimal(0), handed - refunded)


def refund_of(order: Order, return_id: str) -> Decimal:
    rma = order.returns.get(return_id)
    return Decimal(0) if rma is None or rma.refund is None else rma.refund
