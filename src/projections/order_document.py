"""How each order event changes the order's hot-view document, as the event's `apply` changes
the Order aggregate, as far as a listing needs: lines, fulfilment orders (their location,
method, status and items, never batches), payment and returns. Pure: a document and a payload
in, the document changed in place; projections/order_views.py derives the status and indexes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from domain.order import CANCELLED, FAILED, PAYMENT_PENDING, RECEIVED, REFUNDED, REQUESTED

Document = dict[str, Any]

Change = Callable[[Document, dict[str, Any]], None]


def placed(doc: Document, p: dict[str, Any]) -> None:
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


def sourced(doc: Document, p: dict[str, Any]) -> None:
    for f in p["fulfilments"]:
        items = [{k: item[k] for k in ("line_id", "sku", "quantity")} for item in f["lines"]]
        doc["fulfilments"][f["fulfilment_id"]] = {
            "location": f["location"],
            "method": f["method"],
            "status": f["status"],
            "items": items,
        }
    doc["sourced"] = True


def reaches(status: str) -> Change:
    def progress(doc: Document, p: dict[str, Any]) -> None:
        doc["fulfilments"][p["fulfilment_id"]]["status"] = status

    return progress


def _cancel_everything(doc: Document, withdrawn: list[str]) -> None:
    for fulfilment_id in withdrawn:
        doc["fulfilments"][fulfilment_id]["status"] = CANCELLED
    for line in doc["lines"].values():
        line["cancelled"] = line["quantity"]
    doc["cancelled"] = True


def cancelled(doc: Document, p: dict[str, Any]) -> None:
    _cancel_everything(doc, p["withdrawn"])


def lines_cancelled(doc: Document, p: dict[str, Any]) -> None:
    """Lines cancelled by the channel, or for a till's late sale (`...ForShortage`)."""
    for line_id, quantity in p["lines"].items():
        doc["lines"][line_id]["cancelled"] += quantity
    _take_out(doc, p["removed"])
    if all(line["quantity"] == line["cancelled"] for line in doc["lines"].values()):
        doc["cancelled"] = True


def fulfilment_resourced(doc: Document, p: dict[str, Any]) -> None:
    """A till sold what a fulfilment order held: those units move to new ones elsewhere."""
    _take_out(doc, p["removed"])
    sourced(doc, p)


def _take_out(doc: Document, removed: list[dict[str, Any]]) -> None:
    for removal in removed:
        fulfilment = doc["fulfilments"][removal["fulfilment_id"]]
        fulfilment["items"] = _without(fulfilment["items"], removal)
    for fulfilment in doc["fulfilments"].values():
        if fulfilment["status"] != CANCELLED and not fulfilment["items"]:
            fulfilment["status"] = CANCELLED


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


def lines_edited(doc: Document, p: dict[str, Any]) -> None:
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


def paid(status: str, field: str) -> Change:
    def pay(doc: Document, p: dict[str, Any]) -> None:
        doc["payment"].update({"status": status, field: p["amount"]})

    return pay


def payment_failed(doc: Document, p: dict[str, Any]) -> None:
    doc["payment"]["status"] = FAILED
    if not doc["cancelled"]:
        _cancel_everything(doc, p["withdrawn"])


def return_requested(doc: Document, p: dict[str, Any]) -> None:
    doc["returns"][p["rma_id"]] = {"status": REQUESTED, "lines": p["lines"]}


def return_received(doc: Document, p: dict[str, Any]) -> None:
    rma = doc["returns"][p["rma_id"]]
    rma.update(status=RECEIVED, location=p["location"])
    rma.update(restocked=p["restocked"], damaged=p["damaged"])


def return_refunded(doc: Document, p: dict[str, Any]) -> None:
    doc["returns"][p["rma_id"]].update(status=REFUNDED, refund=p["amount"])
