"""Hot views: one JSON document per aggregate (a stock, a reservation, a product, a SKU, a
location, a customer without personal data), plus small indexes (a SKU's locations, open
reservations by expiry, locations by position). Pure: a document and an event in, the next
document and index changes out.

Each document stores the version of the last event applied to it; an event at or below that
version was applied already, so a duplicate or a late redelivery changes nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from events.envelope import Envelope
from projections.channel_views import RULE_HANDLERS, RULE_KINDS, rule_view_key
from projections.customer_views import CUSTOMER_HANDLERS, customer_view_key
from projections.index_ops import IndexOp as IndexOp  # re-exported: its home was here
from projections.order_views import ORDER_HANDLERS

Document = dict[str, Any]

SKU_LOCATIONS = "sku-locations:"
OPEN_RESERVATIONS = "reservations-open"
LOCATIONS_GEO = "locations-geo"
PRODUCTS = "products"


@dataclass
class ViewWrite:
    """The new document for `key`, valid only over the version it was computed from."""

    key: str
    expected_version: int
    document: Document
    indexes: list[IndexOp] = field(default_factory=list)
    rewrites: bool = False  # a document folded again from its whole history: written even
    # over the same version (it may hold an event a first fold had to leave out)


def is_viewed(envelope: Envelope) -> bool:
    return envelope.type.split(".")[0] in VIEWED_KINDS


def view_key(envelope: Envelope) -> str:
    kind, subject = envelope.type.split(".")[0], envelope.subject
    if kind == "Stock":
        return f"stock:{subject['sku']}@{subject['location']}"
    if kind == "Product":
        return f"product:{subject['product_code']}"
    if kind == "Sku":
        return f"sku:{subject['sku']}"
    if kind == "Location":
        return f"location:{subject['code']}"
    if kind == "Preorder":
        return f"preorder:{envelope.aggregate_id}"
    if kind == "Order":
        return f"order:{envelope.aggregate_id}"
    if kind == "Customer":
        return customer_view_key(envelope.aggregate_id)
    if kind == "PreorderSwitch":
        return f"preorder-switch:{subject['sku']}@{subject['channel']}"
    if kind in RULE_KINDS:
        return rule_view_key(kind, subject)
    return f"reservation:{envelope.aggregate_id}"


def project(document: Document | None, envelope: Envelope) -> tuple[Document, list[IndexOp]] | None:
    """The document after the event, and index changes; None if the event was applied already."""
    if document is not None and envelope.version <= document["version"]:
        return None
    new = copy.deepcopy(document) if document is not None else {}
    return new, _advance(new, envelope)


def _advance(document: Document, envelope: Envelope) -> list[IndexOp]:
    """Apply a newer event to a document this fold owns, in place."""
    handler = _HANDLERS.get(envelope.type)
    indexes = handler(document, envelope.payload, envelope) if handler else []
    document["version"] = envelope.version
    return indexes


def fold(
    documents: dict[str, Document | None], envelopes: Iterable[Envelope]
) -> dict[str, ViewWrite]:
    """Apply events in order over the documents read; one write per document touched. Each
    document is copied once, when its first new event comes, then advanced in place."""
    writes: dict[str, ViewWrite] = {}
    for envelope in filter(is_viewed, envelopes):
        key = view_key(envelope)
        write = writes.get(key)
        if write is not None:
            if envelope.version > write.document["version"]:
                write.indexes.extend(_advance(write.document, envelope))
            continue
        projected = project(documents.get(key), envelope)
        if projected is not None:
            current = documents.get(key)
            expected = current["version"] if current else 0
            writes[key] = ViewWrite(key, expected, projected[0], projected[1])
    return writes


# --- stock ---------------------------------------------------------------------------------

Handler = Callable[[Document, dict[str, Any], Envelope], list[IndexOp]]


def _opened(doc: Document, p: dict[str, Any], _: Envelope) -> list[IndexOp]:
    doc.update(
        sku=p["sku"],
        location=p["location"],
        batches={},
        holds={},
        incoming={},
        in_transit={},
        waiting={},
    )
    return [IndexOp("sadd", SKU_LOCATIONS + p["sku"], p["location"])]


def _batch(doc: Document, number: str, expiry: str) -> dict[str, Any]:
    batches: dict[str, dict[str, Any]] = doc["batches"]
    return batches.setdefault(
        number, {"expiry": expiry, "on_hand": 0, "reserved": 0, "status": "active"}
    )


def _received(doc: Document, p: dict[str, Any], _: Envelope) -> list[IndexOp]:
    _batch(doc, p["batch"], p["expiry"])["on_hand"] += p["quantity"]
    ref, incoming = p["shipment_ref"], doc["incoming"]
    if ref in incoming:
        left = incoming[ref]["quantity"] - p["quantity"]
        if left > 0:
            incoming[ref]["quantity"] = left
        else:
            del incoming[ref]
    return []


def _expected(doc: Document, p: dict[str, Any], _: Envelope) -> list[IndexOp]:
    doc["incoming"][p["shipment_ref"]] = {
        "quantity": p["quantity"],
        "expected_on": p["expected_on"],
    }
    return []


def _reserved(doc: Document, p: dict[str, Any], _: Envelope) -> list[IndexOp]:
    held = doc["holds"].setdefault(p["reservation_id"], {})
    for number, quantity in p["allocations"].items():
        doc["batches"][number]["reserved"] += quantity
        held[number] = held.get(number, 0) + quantity
    return []


def _drop_hold(doc: Document, p: dict[str, Any], _: Envelope) -> list[IndexOp]:
    for number, quantity in doc["holds"].pop(p["reservation_id"] or "", {}).items():
        doc["batches"][number]["reserved"] -= quantity
    return []


def _hold_reduced(doc: Document, p: dict[str, Any], _: Envelope) -> list[IndexOp]:
    held = doc["holds"][p["reservation_id"]]
    for number, quantity in p["allocations"].items():
        doc["batches"][number]["reserved"] -= quantity
        held[number] -= quantity
        if held[number] == 0:
            del held[number]
    if not held:
        del doc["holds"][p["reservation_id"]]
    return []


def _sold(doc: Document, p: dict[str, Any], e: Envelope) -> list[IndexOp]:
    _drop_hold(doc, p, e)
    return _take(doc, p, e)


def _take(doc: Document, p: dict[str, Any], _: Envelope) -> list[IndexOp]:
    for number, quantity in p["allocations"].items():
        doc["batches"][number]["on_hand"] -= quantity
    return []


def _returned(doc: Document, p: dict[str, Any], _: Envelope) -> list[IndexOp]:
    if p["restocked"]:
        _batch(doc, p["batch"], p["expiry"])["on_hand"] += p["quantity"]
    return []


def _adjusted(doc: Document, p: dict[str, Any], _: Envelope) -> list[IndexOp]:
    doc["batches"][p["batch"]]["on_hand"] += p["delta"]
    return []


def _hold_moved(doc: Document, p: dict[str, Any], _: Envelope) -> list[IndexOp]:
    doc["holds"][p["to_hold_id"]] = doc["holds"].pop(p["reservation_id"], {})
    return []


def _dispatched(doc: Document, p: dict[str, Any], _: Envelope) -> list[IndexOp]:
    units = sum(line["quantity"] for line in p["batches_in"].values())
    doc.setdefault("in_transit", {})[p["transfer_id"]] = units
    return []


def _transfer_received(doc: Document, p: dict[str, Any], e: Envelope) -> list[IndexOp]:
    doc.setdefault("in_transit", {}).pop(p["transfer_id"], None)
    return _transferred_in(doc, p, e)


def _preorder_taken(doc: Document, p: dict[str, Any], _: Envelope) -> list[IndexOp]:
    doc.setdefault("waiting", {})[p["preorder_id"]] = p["quantity"]
    return []


def _preorder_allocated(doc: Document, p: dict[str, Any], e: Envelope) -> list[IndexOp]:
    _stop_waiting(doc, p, e)
    return _reserved(doc, {**p, "reservation_id": p["preorder_id"]}, e)


def _stop_waiting(doc: Document, p: dict[str, Any], _: Envelope) -> list[IndexOp]:
    doc.setdefault("waiting", {}).pop(p["preorder_id"], None)
    return []


def _shipment_delayed(doc: Document, p: dict[str, Any], _: Envelope) -> list[IndexOp]:
    if p["shipment_ref"] in doc["incoming"]:
        doc["incoming"][p["shipment_ref"]]["expected_on"] = p["expected_on"]
    return []


def _shipment_cancelled(doc: Document, p: dict[str, Any], _: Envelope) -> list[IndexOp]:
    doc["incoming"].pop(p["shipment_ref"], None)
    for preorder_id in p["released"]:
        doc.setdefault("waiting", {}).pop(preorder_id, None)
    return []


def _transferred_in(doc: Document, p: dict[str, Any], _: Envelope) -> list[IndexOp]:
    for number, line in p["batches_in"].items():
        batch = _batch(doc, number, line["expiry"])
        batch["on_hand"] += line["quantity"]
        if line["status"] != "active" and batch["status"] == "active":
            batch["status"] = line["status"]
    return []


def _status(status: str) -> Handler:
    def set_status(doc: Document, p: dict[str, Any], _: Envelope) -> list[IndexOp]:
        doc["batches"][p["batch"]]["status"] = status
        return []

    return set_status


# --- reservations, catalog, locations ------------------------------------------------------


def _placed(doc: Document, p: dict[str, Any], e: Envelope) -> list[IndexOp]:
    trace = p["trace"]
    doc.update(
        reservation_id=e.aggregate_id,
        status="open",
        expires_at=p["expires_at"],
        channel=trace["channel"],
        source_ref=trace["source_ref"],
        lines=p["lines"],
    )
    expiry = datetime.fromisoformat(p["expires_at"]).timestamp()
    return [IndexOp("zadd", OPEN_RESERVATIONS, e.aggregate_id, score=expiry)]


def _extended(doc: Document, p: dict[str, Any], e: Envelope) -> list[IndexOp]:
    doc["expires_at"] = p["expires_at"]
    expiry = datetime.fromisoformat(p["expires_at"]).timestamp()
    return [IndexOp("zadd", OPEN_RESERVATIONS, e.aggregate_id, score=expiry)]


def _preorder_placed(doc: Document, p: dict[str, Any], e: Envelope) -> list[IndexOp]:
    doc.update(
        preorder_id=e.aggregate_id,
        status="waiting",
        channel=p["trace"]["channel"],
        **{k: p[k] for k in ("sku", "location", "shipment_ref", "quantity")},
        allocations={},
        expected_on=None,
    )
    return []


def _preorder_allocated_to_it(doc: Document, p: dict[str, Any], _: Envelope) -> list[IndexOp]:
    doc.update(status="allocated", allocations=p["allocations"])
    return []


def _preorder_delayed(doc: Document, p: dict[str, Any], _: Envelope) -> list[IndexOp]:
    doc["expected_on"] = p["expected_on"]
    return []


def _preorder_status(status: str) -> Handler:
    def set_status(doc: Document, _: dict[str, Any], __: Envelope) -> list[IndexOp]:
        doc["status"] = status
        return []

    return set_status


def _switch_opened(doc: Document, p: dict[str, Any], _: Envelope) -> list[IndexOp]:
    doc.update(sku=p["sku"], channel=p["channel"], preorders=False)
    return []


def _switched(doc: Document, p: dict[str, Any], _: Envelope) -> list[IndexOp]:
    doc["preorders"] = p["allowed"]
    return []


def _resourced(doc: Document, p: dict[str, Any], _: Envelope) -> list[IndexOp]:
    """A till sold a cart's units at a store: that many are held at another location now."""
    kept = []
    for line in doc.get("lines", []):
        if line["sku"] == p["sku"] and line["location"] == p["from_location"]:
            if line["quantity"] > p["quantity"]:
                kept.append({**line, "quantity": line["quantity"] - p["quantity"]})
            continue
        kept.append(line)
    there = [x for x in kept if x["sku"] == p["sku"] and x["location"] == p["to_location"]]
    if there:
        kept[kept.index(there[0])] = {**there[0], "quantity": there[0]["quantity"] + p["quantity"]}
    else:
        kept.append({k: p[k] for k in ("sku", "quantity", "allocations")})
        kept[-1]["location"] = p["to_location"]
    doc["lines"] = kept
    return []


def _closed(status: str) -> Handler:
    def close(doc: Document, _: dict[str, Any], e: Envelope) -> list[IndexOp]:
        doc["status"] = status
        return [IndexOp("zrem", OPEN_RESERVATIONS, e.aggregate_id)]

    return close


def _product_defined(doc: Document, p: dict[str, Any], _: Envelope) -> list[IndexOp]:
    doc.update(product_code=p["product_code"], details=p["details"], skus=[], discontinued=False)
    return [IndexOp("sadd", PRODUCTS, p["product_code"])]


def _product_changed(doc: Document, p: dict[str, Any], _: Envelope) -> list[IndexOp]:
    doc["details"] = {**doc["details"], **p["changes"]}
    return []


def _variant_added(doc: Document, p: dict[str, Any], _: Envelope) -> list[IndexOp]:
    doc["skus"] = [*doc["skus"], p["sku"]]
    return []


def _discontinued(doc: Document, _: dict[str, Any], __: Envelope) -> list[IndexOp]:
    doc["discontinued"] = True
    return []


def _sku_defined(doc: Document, p: dict[str, Any], _: Envelope) -> list[IndexOp]:
    fields = ("sku", "product_code", "attributes", "price", "currency")
    doc.update({name: p[name] for name in fields}, discontinued=False, recalled_batches=[])
    return []


def _repriced(doc: Document, p: dict[str, Any], _: Envelope) -> list[IndexOp]:
    doc.update(price=p["price"], currency=p["currency"])
    return []


def _sku_recall(doc: Document, p: dict[str, Any], _: Envelope) -> list[IndexOp]:
    doc["recalled_batches"] = [*doc["recalled_batches"], p["batch"]]
    return []


def _registered(doc: Document, p: dict[str, Any], _: Envelope) -> list[IndexOp]:
    doc.update({name: p[name] for name in ("code", "name", "kind", "latitude", "longitude")})
    return [
        IndexOp(
            "geoadd", LOCATIONS_GEO, p["code"], longitude=p["longitude"], latitude=p["latitude"]
        )
    ]


_HANDLERS: dict[str, Handler] = {
    "Stock.Opened": _opened,
    "Stock.BatchReceived": _received,
    "Stock.IncomingShipmentExpected": _expected,
    "Stock.Reserved": _reserved,
    "Stock.ReservationReleased": _drop_hold,
    "Stock.ReservationExpired": _drop_hold,
    "Stock.HoldReduced": _hold_reduced,
    "Stock.Sold": _sold,
    "Stock.Returned": _returned,
    "Stock.Adjusted": _adjusted,
    "Stock.TransferredOut": _take,
    "Stock.TransferredIn": _transferred_in,
    "Stock.BatchQuarantined": _status("quarantined"),
    "Stock.BatchQuarantineLifted": _status("active"),
    "Stock.BatchRecalled": _status("recalled"),
    "Reservation.Placed": _placed,
    "Reservation.Confirmed": _closed("confirmed"),
    "Reservation.Released": _closed("released"),
    "Reservation.Expired": _closed("expired"),
    "Reservation.Extended": _extended,
    "Reservation.ConvertedToOrder": _closed("ordered"),
    "Stock.HoldMoved": _hold_moved,
    "Stock.TransferDispatched": _dispatched,
    "Stock.TransferReceived": _transfer_received,
    "Stock.PreorderTaken": _preorder_taken,
    "Stock.PreorderAllocated": _preorder_allocated,
    "Stock.PreorderWithdrawn": _stop_waiting,
    "Stock.IncomingShipmentDelayed": _shipment_delayed,
    "Stock.IncomingShipmentCancelled": _shipment_cancelled,
    "Reservation.Resourced": _resourced,
    "Reservation.CancelledForShortage": _closed("cancelled"),
    "Preorder.Placed": _preorder_placed,
    "Preorder.Allocated": _preorder_allocated_to_it,
    "Preorder.ShipmentDelayed": _preorder_delayed,
    "Preorder.ShipmentCancelled": _preorder_status("released"),
    "Preorder.Confirmed": _preorder_status("confirmed"),
    "Preorder.Released": _preorder_status("released"),
    "PreorderSwitch.Opened": _switch_opened,
    "PreorderSwitch.Switched": _switched,
    "Product.Defined": _product_defined,
    "Product.Changed": _product_changed,
    "Product.VariantAdded": _variant_added,
    "Product.Discontinued": _discontinued,
    "Sku.Defined": _sku_defined,
    "Sku.Repriced": _repriced,
    "Sku.Discontinued": _discontinued,
    "Sku.BatchRecalled": _sku_recall,
    "Location.Registered": _registered,
    **RULE_HANDLERS,  # sales channels' rules and kits: projections/channel_views.py
    **ORDER_HANDLERS,
    **CUSTOMER_HANDLERS,  # the customer log's: projections/customer_views.py
}

# The kinds of aggregate with a hot view are those with a projector above; every other kind's
# events pass the views by.
VIEWED_KINDS = frozenset(event_type.split(".")[0] for event_type in _HANDLERS)
