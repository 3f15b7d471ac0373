"""Request bodies of the webhook, marketplace and recall routes."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import Field, StringConstraints

from api.models import Body
from api.order_models import MAX_LINES, OrderLineIn, PickUpAtIn, ShipToIn

MessageId = Annotated[str, StringConstraints(pattern=r"^msg_[0-9a-f]{32}$")]
MarketplaceOrderId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"),
]


class SubscribeIn(Body):
    url: str = Field(min_length=1, max_length=2000, description="Where to POST: http(s)")
    event_types: list[str] = Field(
        min_length=1,
        max_length=10,
        description="order.status_changed, stock.low, availability.changed, recall.notice, "
        "replenishment.low_stock, replenishment.expiry_risk",
    )
    channels: list[str] | None = Field(
        None, min_length=1, max_length=10, description="Only events of these channels"
    )


class RemoveSubscriptionIn(Body):
    pass


class ReplayIn(Body):
    subscription_id: UUID | None = Field(None, description="Only this subscription's")
    message_ids: list[MessageId] | None = Field(
        None, min_length=1, max_length=1000, description="Only these (their webhook-id)"
    )


class MarketplaceOrderIn(Body):
    marketplace_order_id: MarketplaceOrderId = Field(
        description="The marketplace's own order id: the same id always maps to one order"
    )
    customer_id: UUID | None = Field(None, description="The customer, if known (pseudonymous)")
    lines: list[OrderLineIn] = Field(min_length=1, max_length=MAX_LINES)
    delivery: ShipToIn | PickUpAtIn = Field(discriminator="method")
