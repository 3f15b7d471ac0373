"""Request bodies: what a channel may send, validated before any command is built."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

Code = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")
]
Text = Annotated[str, StringConstraints(min_length=1, max_length=500)]
# A reference to a document or a reason code, never free text: a name, an address or a note
# about a customer has nowhere to go (the stock log keeps it for good; forgetting a customer
# cannot reach it).
REFERENCE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/#-]*$"
Reference = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=REFERENCE_PATTERN)
]
Quantity = Annotated[int, Field(gt=0, le=1_000_000, strict=True)]
SkinType = Literal["dry", "oily", "combination", "normal", "sensitive"]
Price = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


def _aware(value: datetime) -> datetime:
    """In UTC, or refused: an offset that carries the instant outside years 1-9999 (as
    0001-01-01T00:00:00+01:00 does) is refused here, before any arithmetic overflows."""
    if value.tzinfo is None:
        raise ValueError("must carry a timezone offset, e.g. 2026-11-26T10:00:00Z")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is outside the years 1 to 9999 once taken to UTC") from None


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Traceable(Body):
    """Fields every command may carry for traceability."""

    source_ref: Reference | None = Field(
        None,
        description="The source document: order, transfer, count sheet, marketplace order id "
        "(a reference: letters, digits and . _ : / # -, no free text)",
    )
    reason: Reference | None = Field(
        None, description="A reason code: damaged, cycle_count, theft, ... (no free text)"
    )
    occurred_at: AwareDatetime | None = Field(
        None, description="When it happened (a till that was offline reports late); default now"
    )


class VariantIn(Body):
    sku: Code
    shade: Text | None = None
    size: Text | None = None
    scent: Text | None = None
    formula: Text | None = None
    price: Price
    currency: Currency = "EUR"


class DefineProductIn(Traceable):
    product_code: Code
    name: Text
    brand: Text
    category: Text
    inci: list[Annotated[str, StringConstraints(min_length=1, max_length=120)]] = Field(
        default_factory=list, max_length=200, description="INCI ingredient names, in label order"
    )
    skin_types: list[SkinType] = Field(default_factory=list)
    description: Annotated[str, StringConstraints(max_length=4000)] | None = None
    variants: list[VariantIn] = Field(min_length=1, max_length=200)


class ChangeProductIn(Traceable):
    name: Text | None = None
    brand: Text | None = None
    category: Text | None = None
    inci: list[Annotated[str, StringConstraints(min_length=1, max_length=120)]] | None = None
    skin_types: list[SkinType] | None = None
    description: Annotated[str, StringConstraints(max_length=4000)] | None = None


class AddVariantIn(Traceable):
    variant: VariantIn


class RepriceIn(Traceable):
    price: Price
    currency: Currency = "EUR"


class DiscontinueIn(Traceable):
    pass


class SchedulePromotionIn(Traceable):
    promotion_id: UUID | None = Field(
        None, description="Your id for the promotion (default: a new one, in the answer)"
    )
    discount_percent: int = Field(
        ge=1, le=99, strict=True, description="The discount, a whole percent from 1 to 99"
    )
    starts: AwareDatetime = Field(description="When it starts (inclusive)")
    ends: AwareDatetime = Field(description="When it is over (exclusive); after `starts`")
    channels: list[Literal["web", "app", "pos", "marketplace", "backoffice"]] = Field(
        default_factory=list,
        max_length=5,
        description="The sales channels it applies on; none named: every channel",
    )


class WithdrawPromotionIn(Traceable):
    pass


class RegisterLocationIn(Traceable):
    code: Code
    name: Text
    kind: Literal["warehouse", "store", "fulfilment_centre"]
    latitude: Annotated[float, Field(ge=-90, le=90)]
    longitude: Annotated[float, Field(ge=-180, le=180)]


class ReceiveIn(Traceable):
    sku: Code
    location: Code
    batch: Code
    expiry: date
    quantity: Quantity
    shipment_ref: Code | None = None


class ExpectShipmentIn(Traceable):
    sku: Code
    location: Code
    shipment_ref: Code
    quantity: Quantity
    expected_on: date


class LineIn(Body):
    sku: Code
    location: Code
    quantity: Quantity


class SaleLineIn(LineIn):
    batch: Code | None = None


class ReserveIn(Traceable):
    customer_id: UUID | None = Field(None, description="The customer it is for, if known")
    reservation_id: UUID | None = Field(None, description="Chosen by the client, or generated")
    lines: list[LineIn] = Field(min_length=1, max_length=100)
    ttl_seconds: Annotated[int, Field(gt=0, le=7 * 24 * 3600, strict=True)] | None = Field(
        None, description="How long the hold lasts; the server default is 15 minutes"
    )


class ReservationActionIn(Traceable):
    pass


class SellIn(Traceable):
    customer_id: UUID | None = Field(None, description="The customer it is for, if known")
    sale_id: UUID | None = None
    lines: list[SaleLineIn] = Field(min_length=1, max_length=100)


class ReturnIn(Traceable):
    customer_id: UUID | None = Field(None, description="The customer it is for, if known")
    sku: Code
    location: Code
    batch: Code
    expiry: date | None = Field(None, description="Needed when the batch was never held here")
    quantity: Quantity
    restock: bool = Field(description="True: back on the shelf; false: damaged, written off")


AdjustmentReason = Literal[
    "cycle_count", "damaged", "theft", "expired", "found", "recall", "sample", "correction"
]


class AdjustIn(Traceable):
    sku: Code
    location: Code
    batch: Code
    delta: Annotated[int, Field(ge=-1_000_000, le=1_000_000, strict=True)] | None = Field(
        None, description="The change in units; give this or `counted`"
    )
    counted: Annotated[int, Field(ge=0, le=1_000_000, strict=True)] | None = Field(
        None, description="The units found by a count; give this or `delta`"
    )
    reason: AdjustmentReason = Field(description="Why the count changed: a reason code")


class TransferIn(Traceable):
    transfer_id: UUID | None = None
    sku: Code
    from_location: Code
    to_location: Code
    quantity: Quantity


class BatchActionIn(Traceable):
    sku: Code
    location: Code
    batch: Code


class RecallIn(Traceable):
    sku: Code
    batch: Code
    reason: Reference = Field(
        description="Why the batch is recalled: the safety notice's number (a reference)"
    )
