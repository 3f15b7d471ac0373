"""Request bodies of the order, channel-rule and kit routes, validated before any command is
built. A delivery is coordinates or a pickup store, never an address: the order's events are
published, and an address would be personal data in them."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field

from api.models import Body, Code, Quantity, Traceable

LineId = Annotated[str, Field(pattern=r"^L[1-9][0-9]{0,3}$", description="An order line: L1, L2")]
RmaId = Annotated[str, Field(pattern=r"^R[1-9][0-9]{0,3}$", description="A return: R1, R2")]
Amount = Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=2)]
Units = Annotated[int, Field(ge=0, le=1_000_000, strict=True)]
MAX_LINES = 100


class OrderLineIn(Body):
    sku: Code = Field(description="A catalog SKU; a kit's SKU takes every component")
    quantity: Quantity


class ShipToIn(Body):
    method: Literal["ship"]
    latitude: Annotated[float, Field(ge=-90, le=90)]
    longitude: Annotated[float, Field(ge=-180, le=180)]


class PickUpAtIn(Body):
    method: Literal["pickup"]
    store: Code = Field(description="The store the customer collects at")


class PlaceOrderIn(Traceable):
    order_id: UUID | None = Field(None, description="Chosen by the client, or generated")
    customer_id: UUID | None = Field(None, description="The customer it is for, if known")
    lines: list[OrderLineIn] = Field(min_length=1, max_length=MAX_LINES)
    delivery: ShipToIn | PickUpAtIn = Field(discriminator="method")


class QuoteIn(Body):
    lines: list[OrderLineIn] = Field(min_length=1, max_length=MAX_LINES)
    delivery: ShipToIn | PickUpAtIn = Field(discriminator="method")


FulfilmentStep = Literal[
    "picking", "packed", "shipped", "delivered", "ready-for-pickup", "collected", "not-collected"
]


class FulfilmentStepIn(Traceable):
    step: FulfilmentStep


class OrderActionIn(Traceable):
    pass


class CancelLinesIn(Traceable):
    lines: dict[LineId, Quantity] = Field(min_length=1, max_length=MAX_LINES)


class EditLinesIn(Traceable):
    add: list[OrderLineIn] = Field(default_factory=list, max_length=MAX_LINES)
    remove: list[LineId] = Field(default_factory=list, max_length=MAX_LINES)
    change: dict[LineId, Quantity] = Field(
        default_factory=dict, max_length=MAX_LINES, description="Line id -> its new quantity"
    )


class PaymentIn(Traceable):
    outcome: Literal["authorised", "captured", "failed"]
    amount: Amount | None = Field(None, description="Needed when authorised or captured")


class ReturnRequestIn(Traceable):
    lines: dict[LineId, Quantity] = Field(min_length=1, max_length=MAX_LINES)


class ReturnReceiptIn(Traceable):
    location: Code = Field(description="Where the items came back")
    restocked: dict[LineId, Units] = Field(default_factory=dict, max_length=MAX_LINES)
    damaged: dict[LineId, Units] = Field(default_factory=dict, max_length=MAX_LINES)


class RefundIn(Traceable):
    amount: Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]


class SourcingRulesIn(Body):
    strategy: Literal["priority", "nearest", "fewest_shipments"]
    priority: list[Code] = Field(default_factory=list, max_length=500)
    ship_from_store: bool = True
    split_allowed: bool = True


class ChannelRulesIn(Traceable):
    """Only what is named changes. `sell_from`: the locations the channel may sell from, or
    null with `sell_from_everywhere` to lift the bound."""

    sell_from: list[Code] | None = Field(None, max_length=500)
    sell_from_everywhere: bool = False
    safety_buffers: dict[Code, Units] = Field(
        default_factory=dict, max_length=1000, description="SKU -> units each location keeps back"
    )
    ring_fenced_pools: dict[Code, Units] = Field(
        default_factory=dict, max_length=1000, description="SKU -> units kept for this channel"
    )
    min_shelf_life_days: Annotated[int, Field(ge=0, le=3650, strict=True)] | None = None
    sourcing: SourcingRulesIn | None = None


class KitIn(Traceable):
    sku: Code = Field(description="The kit's own catalog SKU")
    components: dict[Code, Quantity] = Field(
        min_length=1, max_length=50, description="Component SKU -> units in one kit"
    )
