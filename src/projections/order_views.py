"""The order hot view: one document per order (`order:<id>`) folded from its events, and the
indexes that list orders by channel, customer, status and location (store staff), each a
sorted set scored by the log position the order was placed at, so a listing pages by it.

The document mirrors what each event's `apply` does to the Order aggregate, only as far as a
listing needs (no batches, no sourcing reasons); its `status` is derived as `Order.status`
derives it. It keeps no personal data: the customer is their pseudonymous id, and a delivery
is its method and pickup store, never the coordinates it ships to."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from domain.order import (
    AUTHORISED,
    CANCELLED,
    CAPTURED,
    COMPLETED,
    FAILED,
    FINISHED,
    IN_FULFILMENT,
    OPEN,
    PAYMENT_PENDING,
    PLACED,
    RECEIVED,
    REFUNDED,
    REQUESTED,
    SOURCED,
    Order,
)
from events.envelope import Envelope
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


# --- the events, as Order's `apply` reads them ----------------------------------------------

Change = Callable[[Document, dict[str, Any]], None]


def _placed(doc: Document, p: dict[str, Any]) -> None:
    delivery = p["delivery"]
    doc.update(
        channel=p["trace"]["channel"],
        customer_id=p.get("customer_id"),
        currency=p["currency"],
        delivery={"method": delivery["method"], "store": delivery.get("store")},
        lines={line["line_id"]: _line(line) for line in p["lines"]},
        fulfilments={},
        payment={"status": PAYMENT_PENDING, "authorised": "0", "captured": "0"},
        returns={},
        sourced=False,
        cancelled=False,
    )


def _line(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "sku": data["sku"],
        "quantity": data["quantity"],
        "cancelled": data.get("cancelled", 0),
        "unit_price": data["unit_price"],
    }


def _sourced(doc: Document, p: dict[str, Any]) -> None:
    for f in p["fulfilments"]:
        items = [{k: item[k] for k in ("line_id", "sku", "quantity")} for item in f["lines"]]
        doc["fulfilments"][f["fulfilment_id"]] = {
            "location": f["location"],
            "method": f["method"],
            "status": f["status"],
            "items": items,
        }
    doc["sourced"] = True


def _reaches(status: str) -> Change:
    def progress(doc: Document, p: dict[str, Any]) -> None:
        doc["fulfilments"][p["fulfilment_id"]]["status"] = status

    return progress


def _cancel_everything(doc: Document, withdrawn: list[str]) -> None:
    for fulfilment_id in withdrawn:
        doc["fulfilments"][fulfilment_id]["status"] = CANCELLED
    for line in doc["lines"].values():
        line["cancelled"] = line["quantity"]
    doc["cancelled"] = True


def _cancelled(doc: Document, p: dict[str, Any]) -> None:
    _cancel_everything(doc, p["withdrawn"])


def _lines_cancelled(doc: Document, p: dict[str, Any]) -> None:
    for line_id, quantity in p["lines"].items():
        doc["lines"][line_id]["cancelled"] += quantity
    for removal in p["removed"]:
        fulfilment = doc["fulfilments"][removal["fulfilment_id"]]
        fulfilment["items"] = _without(fulfilment["items"], removal)
    for fulfilment in doc["fulfilments"].values():
        if fulfilment["status"] != CANCELLED and not fulfilment["items"]:
            fulfilment["status"] = CANCELLED
    if all(line["quantity"] == line["cancelled"] for line in doc["lines"].values()):
        doc["cancelled"] = True


def _without(items: list[dict[str, Any]], removal: dict[str, Any]) -> list[dict[str, Any]]:
    """A fulfilment order's items less a removal's units (as `domain.order._without`)."""
    kept, units = [], removal["quantity"]
    for item in items:
        if item["line_id"] != removal["line_id"] or item["sku"] != removal["sku"] or not units:
            kept.append(item)
            continue
        taken = min(item["quantity"], units)
        units -= taken
        if item["quantity"] - taken:
            kept.append({**item, "quantity": item["quantity"] - taken})
    return kept


def _lines_edited(doc: Document, p: dict[str, Any]) -> None:
    for fulfilment_id in p["withdrawn"]:
        del doc["fulfilments"][fulfilment_id]
    for line_id in p["removed"]:
        del doc["lines"][line_id]
    for line_id, quantity in p["changed"].items():
        line = doc["lines"][line_id]
        line["quantity"] = line["cancelled"] + quantity
    for data in p["added"]:
        doc["lines"][data["line_id"]] = _line(data)
    doc["sourced"] = False


def _paid(status: str, field: str) -> Change:
    def pay(doc: Document, p: dict[str, Any]) -> None:
        doc["payment"].update({"status": status, field: p["amount"]})

    return pay


def _payment_failed(doc: Document, p: dict[str, Any]) -> None:
    doc["payment"]["status"] = FAILED
    if not doc["cancelled"]:
        _cancel_everything(doc, p["withdrawn"])


def _return_requested(doc: Document, p: dict[str, Any]) -> None:
    doc["returns"][p["rma_id"]] = {"status": REQUESTED, "lines": p["lines"]}


def _return_received(doc: Document, p: dict[str, Any]) -> None:
    rma = doc["returns"][p["rma_id"]]
    rma.update(status=RECEIVED, location=p["location"])
    rma.update(restocked=p["restocked"], damaged=p["damaged"])


def _return_refunded(doc: Document, p: dict[str, Any]) -> None:
    doc["returns"][p["rma_id"]].update(status=REFUNDED, refund=p["amount"])


# --- the indexes: kept current after each event ---------------------------------------------

Handler = Callable[[Document, dict[str, Any], Envelope], list[IndexOp]]


def _indexed(change: Change) -> Handler:
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
    "Order.Placed": _indexed(_placed),
    "Order.Sourced": _indexed(_sourced),
    **{f"Order.{event}": _indexed(_reaches(status)) for event, status in _STEPS.items()},
    "Order.Cancelled": _indexed(_cancelled),
    "Order.LinesCancelled": _indexed(_lines_cancelled),
    "Order.LinesEdited": _indexed(_lines_edited),
    "Order.PaymentAuthorised": _indexed(_paid(AUTHORISED, "authorised")),
    "Order.PaymentCaptured": _indexed(_paid(CAPTURED, "captured")),
    "Order.PaymentFailed": _indexed(_payment_failed),
    "Order.ReturnRequested": _indexed(_return_requested),
    "Order.ReturnReceived": _indexed(_return_received),
    "Order.ReturnRefunded": _indexed(_return_refunded),
}
