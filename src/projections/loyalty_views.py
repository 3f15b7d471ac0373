"""The loyalty part of the customer hot view (`customer:<id>`): `loyalty{points, tier}`,
folded from the Customer.Points* and LoyaltyTierChanged envelopes. Pure, written as the
projectors of hot_views.py are (document, payload, envelope -> index changes); the document's
version check is hot_views.project's. Each Points* event carries the points it actually moved
(the domain capped them), so the balance is their running sum and never goes negative."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from events.envelope import Envelope
from projections.index_ops import IndexOp

Document = dict[str, Any]

FIRST_TIER = "member"
# Points each event adds to the balance (its payload's `points`, with this sign).
BALANCE_SIGN = {
    "Customer.PointsEarned": 1,
    "Customer.PointsLost": -1,
    "Customer.PointsRedeemed": -1,
    "Customer.PointsExpired": -1,
}


def loyalty_of(document: Document) -> dict[str, Any]:
    """The document's loyalty part, made on first use."""
    part: dict[str, Any] = document.setdefault("loyalty", {"points": 0, "tier": FIRST_TIER})
    return part


def balance_change(event_type: str, payload: dict[str, Any]) -> int:
    """What the event does to the balance (0 for an event that moves no points)."""
    return BALANCE_SIGN.get(event_type, 0) * int(payload.get("points", 0))


def _points(doc: Document, p: dict[str, Any], envelope: Envelope) -> list[IndexOp]:
    part = loyalty_of(doc)
    part["points"] = max(0, part["points"] + balance_change(envelope.type, p))
    return []


def _tier(doc: Document, p: dict[str, Any], _: Envelope) -> list[IndexOp]:
    loyalty_of(doc)["tier"] = p["tier"]
    return []


LOYALTY_HANDLERS: dict[str, Callable[[Document, dict[str, Any], Envelope], list[IndexOp]]] = {
    **dict.fromkeys(BALANCE_SIGN, _points),
    "Customer.LoyaltyTierChanged": _tier,
}
