"""The customer hot view: `customer:<customer_id>`, what stream consumers and the API may know of
a customer without any personal data: `{status, consents{purpose: bool}, loyalty{points, tier},
version}`. Status is `active`, `merged` (into another id) or `forgotten`; a forgotten
customer's document is a tombstone, `{status: forgotten, version}`, which also tells the order
view not to list an order as theirs again (projections/forgotten_guard.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from events.envelope import Envelope
from projections.index_ops import IndexOp

Document = dict[str, Any]
Handler = Callable[[Document, dict[str, Any], Envelope], list[IndexOp]]

CUSTOMER_VIEW = "customer:"
ACTIVE, MERGED, FORGOTTEN = "active", "merged", "forgotten"
FIRST_TIER = "member"


def customer_view_key(customer_id: str) -> str:
    return CUSTOMER_VIEW + customer_id


def is_forgotten(document: Document | None) -> bool:
    return document is not None and document.get("status") == FORGOTTEN


def _registered(doc: Document, _: dict[str, Any], __: Envelope) -> list[IndexOp]:
    doc.update(status=ACTIVE, consents={}, loyalty={"points": 0, "tier": FIRST_TIER})
    return []


def _live(change: Callable[[Document, dict[str, Any]], None]) -> Handler:
    """A change to a document that is not a tombstone (a document made mid-history, by a
    consumer that started late, gets the parts it lacks)."""

    def handle(doc: Document, p: dict[str, Any], _: Envelope) -> list[IndexOp]:
        if is_forgotten(doc):
            return []
        doc.setdefault("status", ACTIVE)
        doc.setdefault("consents", {})
        doc.setdefault("loyalty", {"points": 0, "tier": FIRST_TIER})
        change(doc, p)
        return []

    return handle


def _granted(doc: Document, p: dict[str, Any]) -> None:
    doc["consents"][p["purpose"]] = True


def _withdrawn(doc: Document, p: dict[str, Any]) -> None:
    doc["consents"][p["purpose"]] = False


def _tier(doc: Document, p: dict[str, Any]) -> None:
    doc["loyalty"]["tier"] = p["tier"]


def _points(sign: int) -> Callable[[Document, dict[str, Any]], None]:
    def change(doc: Document, p: dict[str, Any]) -> None:
        doc["loyalty"]["points"] += sign * p["points"]

    return change


def _merged(doc: Document, p: dict[str, Any]) -> None:
    doc.update(status=MERGED, merged_into=p["target_id"])


def _forgotten(doc: Document, _: dict[str, Any], __: Envelope) -> list[IndexOp]:
    """Consents, loyalty and a merge target go: the tombstone keeps the status alone."""
    doc.clear()
    doc["status"] = FORGOTTEN
    return []


CUSTOMER_HANDLERS: dict[str, Handler] = {
    "Customer.Registered": _registered,
    "Customer.ConsentGranted": _live(_granted),
    "Customer.ConsentWithdrawn": _live(_withdrawn),
    "Customer.LoyaltyTierChanged": _live(_tier),
    "Customer.PointsEarned": _live(_points(1)),
    "Customer.PointsLost": _live(_points(-1)),
    "Customer.PointsRedeemed": _live(_points(-1)),
    "Customer.PointsExpired": _live(_points(-1)),
    "Customer.MergedInto": _live(_merged),
    "Customer.Forgotten": _forgotten,
}
