"""What `GET /customers/{id}/loyalty` and the export say of a customer's points: read from
the Customer aggregate (strongly consistent), never from a read model."""

from __future__ import annotations

from typing import Any

from domain.customer import Customer

LOYALTY_EVENTS = frozenset(
    {
        "Customer.PointsEarned",
        "Customer.PointsLost",
        "Customer.PointsRedeemed",
        "Customer.PointsExpired",
        "Customer.LoyaltyTierChanged",
    }
)


def loyalty(customer: Customer, events: list[dict[str, Any]]) -> dict[str, Any]:
    """The balance and tier, each lot with what is left and its last day, and the history
    (`events` as customer_views.history renders them, oldest first)."""
    book = customer.loyalty
    return {
        "customer_id": str(customer.id),
        "points": book.balance,
        "tier": customer.loyalty_tier,
        "qualifying_points": book.qualifying(),
        "redeemed": book.redeemed,
        "lots": [
            {
                "reference": lot.reference,
                "earned": lot.earned,
                "left": lot.left,
                "lost": lot.lost,
                "spent": lot.spent,
                "expired": lot.expired,
                "expires_on": lot.expires_on.isoformat(),
            }
            for lot in book.lots
        ],
        "history": [
            {
                "event": event["event"].removeprefix("Customer."),
                "recorded_at": event["recorded_at"],
                **event["data"],
            }
            for event in events
            if event["event"] in LOYALTY_EVENTS
        ],
        "version": customer.version,
    }
