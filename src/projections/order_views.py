"""The order hot view: one document per order (`order:<id>`) folded from its events, and the
indexes that list orders by channel, customer, status and location (store staff), each a
sorted set scored by the log position the order was placed at, so a listing pages by it.

Each event changes the document as its `apply` changes the Order aggregate, as far as a
listing needs (projections/order_document.py); here its `status` is derived as `Order.status`
derives it, and the indexes follow. It keeps no personal data: the customer is their
pseudonymous id, and a delivery is its method and pickup store, never the coordinates it
ships to."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from domain.order import (
    AUTHORISED,
    CANCELLED,
    CAPTURED,
    COMPLETED,
    FINISHED,
    IN_FULFILMENT,
    OPEN,
    PLACED,
    SOURCED,
    Order,
)
from events.envelope import Envelope
from projections import order_document as d
from projections.index_ops import IndexOp

Document = dict[str, Any]

ORDERS = "orders"  # every order
BY_CHANNEL = "orders-channel:"
BY_CUSTOMER = "orders-customer:"
BY_STATUS = "orders-status:"
AT_LOCATION = "orders-location:"  # a fulfilment order there, or the pickup store


def order_status(document: Document) -> str:
    """`Order.status`, from the view: cancelled, placed (not sourced), sourced (nothing
    started), completed (every live fulfilment order finished), else in fulfilment."""
    if document["cancelled"]:
        return CANCELLED
    if not document["sourced"]:
        return PLACED
    active = {f["status"] for f in document["fulfilments"].values()} - {CANCELLED}
    if active <= {OPEN}:
        return SOURCED
    if active <= FINISHED:
        return COMPLETED
    return IN_FULFILMENT


def places(document: Document) -> set[str]:
    """Where store staff may see the order: its fulfilment orders' locations, the pickup."""
    found = {f["location"] for f in document["fulfilments"].values()}
    store = document["delivery"].get("store")
    return found | {store} if store else found


# --- the indexes: kept current after each event ---------------------------------------------

Handler = Callable[[Document, dict[str, Any], Envelope], list[IndexOp]]


def _indexed(change: d.Change) -> Handler:
    """The change, then the index moves it makes: a new status or location, or the order's
    first indexes when it is placed (scored by its placing position)."""

    def handle(doc: Document, p: dict[str, Any], e: Envelope) -> list[IndexOp]:
        status, where = doc.get("status"), places(doc) if doc else set()
        if not doc:
            doc.update(order_id=e.aggregate_id, placed_at=e.timestamp, placed_position=e.position)
        change(doc, p)
        doc["status"] = order_status(doc)
        return _moves(doc, status, where)

    return handle


def _moves(doc: Document, status: str | None, where: set[str]) -> list[IndexOp]:
    order_id, score = doc["order_id"], float(doc["placed_position"])

    def op(kind: str, index: str) -> IndexOp:
        return IndexOp(kind, index, order_id, score=score)

    moves = []
    if status is None:
        moves += [op("zadd", ORDERS), op("zadd", BY_CHANNEL + doc["channel"])]
        if doc["customer_id"]:
            moves.append(op("zadd", BY_CUSTOMER + doc["customer_id"]))
    if status != doc["status"]:
        moves += [op("zrem", BY_STATUS + status)] if status else []
        moves.append(op("zadd", BY_STATUS + doc["status"]))
    now = places(doc)
    moves += [op("zrem", AT_LOCATION + code) for code in sorted(where - now)]
    moves += [op("zadd", AT_LOCATION + code) for code in sorted(now - where)]
    return moves


# Each step of a fulfilment order: the event's name and the state it reaches.
_STEPS = {
    name: event.reaches
    for name, event in vars(Order).items()
    if isinstance(event, type)
    and issubclass(event, Order.FulfilmentProgressed)
    and event is not Order.FulfilmentProgressed
}

ORDER_HANDLERS: dict[str, Handler] = {
    "Order.Placed": _indexed(d.placed),
    "Order.Sourced": _indexed(d.sourced),
    **{f"Order.{event}": _indexed(d.reaches(status)) for event, status in _STEPS.items()},
    "Order.Cancelled": _indexed(d.cancelled),
    "Order.LinesCancelled": _indexed(d.lines_cancelled),
    "Order.LinesEdited": _indexed(d.lines_edited),
    "Order.FulfilmentResourced": _indexed(d.fulfilment_resourced),
    "Order.LinesCancelledForShortage": _indexed(d.lines_cancelled),
    "Order.PaymentAuthorised": _indexed(d.paid(AUTHORISED, "authorised")),
    "Order.PaymentCaptured": _indexed(d.paid(CAPTURED, "captured")),
    "Order.PaymentFailed": _indexed(d.payment_failed),
    "Order.ReturnRequested": _indexed(d.return_requested),
    "Order.ReturnReceived": _indexed(d.return_received),
    "Order.ReturnRefunded": _indexed(d.return_refunded),
}
