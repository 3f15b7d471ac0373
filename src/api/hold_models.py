"""Request bodies of holds that fit checkout, transfers in transit and pre-orders."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field, StrictBool

from api.models import Code, Quantity, Traceable
from api.order_models import PickUpAtIn, ShipToIn
from domain.reservation import MAX_HOLD

Channel = Literal["web", "app", "pos", "marketplace", "backoffice"]


class ExtendReservationIn(Traceable):
    extend_by_seconds: Annotated[
        int, Field(gt=0, le=int(MAX_HOLD.total_seconds()), strict=True)
    ] = Field(description="How much longer to hold (a reservation is held at most 2 h in all)")


class ReservationToOrderIn(Traceable):
    order_id: UUID | None = Field(None, description="Chosen by the client, or generated")
    delivery: ShipToIn | PickUpAtIn = Field(
        discriminator="method",
        description="Where the order goes: an address's coordinates, or a pickup store that "
        "holds every line",
    )


class TransferReceiptIn(Traceable):
    sku: Code
    location: Code = Field(description="Where the transfer arrives")
    batches: dict[Code, Annotated[int, Field(ge=0, le=1_000_000, strict=True)]] | None = Field(
        None,
        max_length=100,
        description="Units that arrived per batch; leave out when everything sent arrived",
    )


class PreorderSwitchIn(Traceable):
    channel: Channel
    allowed: StrictBool


class PreorderIn(Traceable):
    customer_id: UUID | None = Field(None, description="The customer it is for, if known")
    preorder_id: UUID | None = Field(None, description="Chosen by the client, or generated")
    sku: Code
    location: Code
    shipment_ref: Code = Field(description="The announced incoming shipment it waits on")
    quantity: Quantity


class PreorderActionIn(Traceable):
    pass


class ShipmentDelayIn(Traceable):
    sku: Code
    location: Code
    shipment_ref: Code
    expected_on: date = Field(description="The new day the shipment is expected")


class ShipmentCancelIn(Traceable):
    sku: Code
    location: Code
    shipment_ref: Code
