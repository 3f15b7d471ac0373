"""The loyalty part of the customer hot view: the balance is the running sum of the points the
events moved, the tier the last one changed to; a redelivered event changes nothing."""

from __future__ import annotations

from typing import Any

from events.envelope import Envelope
from projections.hot_views import project
from projections.loyalty_views import LOYALTY_HANDLERS, balance_change

CUSTOMER = "0b7c6f1e-5f7e-4c1e-9a53-6a3c1f0e2b11"


def envelope(version: int, kind: str, **payload: Any) -> Envelope:
    return Envelope(
        f"{CUSTOMER}:{version}",
        version,
        f"Customer.{kind}",
        CUSTOMER,
        version,
        "2026-03-02T10:00:00+00:00",
        1,
        {},
        payload,
    )


def fold(document: dict[str, Any] | None, event: Envelope) -> dict[str, Any]:
    """As hot_views.project folds an event, with the loyalty handler the integrator wires."""
    projected = project(document, event)
    if projected is None:
        assert document is not None
        return document
    new, _ = projected
    LOYALTY_HANDLERS[event.type](new, event.payload, event)
    return new


def test_the_balance_and_tier_follow_the_events() -> None:
    events = [
        envelope(3, "PointsEarned", points=120, reference="order:a", expires_on="2027-03-02"),
        envelope(4, "LoyaltyTierChanged", tier="silver"),
        envelope(5, "PointsRedeemed", points=50, reference="checkout:1"),
        envelope(6, "PointsLost", points=30, reference="order:a/R1"),
        envelope(7, "PointsExpired", points=40, expired_on="2027-03-03"),
        envelope(8, "LoyaltyTierChanged", tier="member"),
    ]
    document: dict[str, Any] | None = None
    seen = []
    for event in events:
        document = fold(document, event)
        seen.append(dict(document["loyalty"]))
    assert [entry["points"] for entry in seen] == [120, 120, 70, 40, 0, 0]
    assert [entry["tier"] for entry in seen] == [
        "member",
        "silver",
        "silver",
        "silver",
        "silver",
        "member",
    ]
    assert document is not None and document["version"] == 8


def test_a_redelivered_event_changes_nothing() -> None:
    earned = envelope(3, "PointsEarned", points=10, reference="order:a", expires_on="2027-03-02")
    once = fold(None, earned)
    assert fold(once, earned) == once == {"loyalty": {"points": 10, "tier": "member"}, "version": 3}


def test_only_points_events_move_the_balance() -> None:
    assert balance_change("Customer.PointsEarned", {"points": 7}) == 7
    assert balance_change("Customer.PointsRedeemed", {"points": 7}) == -7
    assert balance_change("Customer.LoyaltyTierChanged", {"tier": "gold"}) == 0
    assert balance_change("Customer.WishlistItemAdded", {"sku": "LIP-1"}) == 0
