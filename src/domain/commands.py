"""Commands: imperative, frozen, each carrying the Trace that its events will carry."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.order_commands import OrderCommand
from domain.replenishment_commands import ReplenishmentCommand
from domain.sourcing import Delivery
from domain.till_commands import DeclareReconciliationPolicy, RecordTillLines, RegisterTill
from domain.trace import Trace


@dataclass(frozen=True)
class VariantSpec:
    sku: str
    attributes: dict[str, str]
    price: Decimal
    currency: str


@dataclass(frozen=True)
class DefineProduct:
    product_code: str
    details: dict[str, Any]
    variants: tuple[VariantSpec, ...]
    trace: Trace


@dataclass(frozen=True)
class ChangeProduct:
    product_code: str
    changes: dict[str, Any]
    trace: Trace


@dataclass(frozen=True)
class AddVariant:
    product_code: str
    variant: VariantSpec
    trace: Trace


@dataclass(frozen=True)
class RepriceSku:
    sku: str
    price: Decimal
    currency: str
    trace: Trace


@dataclass(frozen=True)
class DiscontinueProduct:
    product_code: str
    trace: Trace


@dataclass(frozen=True)
class SchedulePromotion:
    product_code: str
    promotion_id: str
    discount_percent: int
    starts: datetime
    ends: datetime
    channels: tuple[str, ...]
    trace: Trace


@dataclass(frozen=True)
class WithdrawPromotion:
    product_code: str
    promotion_id: str
    trace: Trace


@dataclass(frozen=True)
class RegisterLocation:
    code: str
    name: str
    kind: str
    latitude: float
    longitude: float
    trace: Trace


@dataclass(frozen=True)
class ReceiveBatch:
    sku: str
    location: str
    batch: str
    expiry: date
    quantity: int
    shipment_ref: str | None
    trace: Trace


@dataclass(frozen=True)
class ExpectShipment:
    sku: str
    location: str
    shipment_ref: str
    quantity: int
    expected_on: date
    trace: Trace


@dataclass(frozen=True)
class StockLine:
    sku: str
    location: str
    quantity: int
    batch: str | None = None


@dataclass(frozen=True)
class Authority:
    """Whose reservations a caller may confirm or release: a channel's own (None: any
    channel's), at one location (None: anywhere). The writer decides it on the reservation
    it decides the command on, so no check can race the reservation's placing."""

    channel: str | None = None
    location: str | None = None

    def refusal(self, placed_by: str, locations: Iterable[str]) -> str | None:
        """Why this authority may not act on what `placed_by` placed at `locations`, if not."""
        if self.channel is not None and self.channel != placed_by:
            return f"it was placed by another channel; {self.channel} may act only on its own"
        elsewhere = sorted(set(locations) - {self.location})
        if self.location is not None and elsewhere:
            return (
                f"it holds stock at {', '.join(elsewhere)}; staff of {self.location} may act "
                "only on what is held there"
            )
        return None


EVERYWHERE = Authority()


@dataclass(frozen=True)
class PlaceReservation:
    reservation_id: UUID
    lines: tuple[StockLine, ...]
    expires_at: datetime
    trace: Trace


@dataclass(frozen=True)
class ConfirmReservation:
    reservation_id: UUID
    now: datetime
    trace: Trace
    authority: Authority = EVERYWHERE


@dataclass(frozen=True)
class ReleaseReservation:
    reservation_id: UUID
    trace: Trace
    authority: Authority = EVERYWHERE


@dataclass(frozen=True)
class ExpireReservation:
    reservation_id: UUID
    now: datetime
    trace: Trace


@dataclass(frozen=True)
class SellDirect:
    sale_id: UUID
    lines: tuple[StockLine, ...]
    trace: Trace


@dataclass(frozen=True)
class AcceptReturn:
    sku: str
    location: str
    batch: str
    expiry: date | None
    quantity: int
    restock: bool
    trace: Trace
    back_office: bool = False  # may take a return not linked to a sale here, with a reason


@dataclass(frozen=True)
class AdjustStock:
    sku: str
    location: str
    batch: str
    delta: int | None
    counted: int | None
    trace: Trace


@dataclass(frozen=True)
class TransferStock:
    transfer_id: UUID
    sku: str
    from_location: str
    to_location: str
    quantity: int
    trace: Trace
    in_transit: bool = False  # True: on its way until ReceiveTransfer; False: arrived at once


@dataclass(frozen=True)
class QuarantineBatch:
    sku: str
    location: str
    batch: str
    trace: Trace


@dataclass(frozen=True)
class LiftQuarantine:
    sku: str
    location: str
    batch: str
    trace: Trace


@dataclass(frozen=True)
class RecallBatch:
    sku: str
    batch: str
    trace: Trace


# --- holds that fit checkout, transfers in transit, pre-orders (domain/hold_handlers.py) ------


@dataclass(frozen=True)
class ExtendReservation:
    reservation_id: UUID
    extra: timedelta
    now: datetime
    trace: Trace
    authority: Authority = EVERYWHERE


@dataclass(frozen=True)
class ConvertReservationToOrder:
    reservation_id: UUID
    order_id: UUID
    delivery: Delivery
    now: datetime
    trace: Trace
    authority: Authority = EVERYWHERE


@dataclass(frozen=True)
class ReceiveTransfer:
    transfer_id: UUID
    sku: str
    location: str  # where it arrives
    arrived: dict[str, int] | None  # units per batch; None: everything sent arrived
    trace: Trace


@dataclass(frozen=True)
class SwitchPreorders:
    sku: str
    channel: str
    allowed: bool
    trace: Trace


@dataclass(frozen=True)
class PlacePreorder:
    preorder_id: UUID
    sku: str
    location: str
    shipment_ref: str
    quantity: int
    trace: Trace


@dataclass(frozen=True)
class ConfirmPreorder:
    preorder_id: UUID
    trace: Trace
    authority: Authority = EVERYWHERE


@dataclass(frozen=True)
class ReleasePreorder:
    preorder_id: UUID
    trace: Trace
    authority: Authority = EVERYWHERE


@dataclass(frozen=True)
class DelayShipment:
    sku: str
    location: str
    shipment_ref: str
    expected_on: date
    trace: Trace


@dataclass(frozen=True)
class CancelShipment:
    sku: str
    location: str
    shipment_ref: str
    trace: Trace


HoldCommand = (
    ExtendReservation
    | ConvertReservationToOrder
    | ReceiveTransfer
    | SwitchPreorders
    | PlacePreorder
    | ConfirmPreorder
    | ReleasePreorder
    | DelayShipment
    | CancelShipment
)

Command = (
    DefineProduct
    | ChangeProduct
    | AddVariant
    | RepriceSku
    | DiscontinueProduct
    | SchedulePromotion
    | WithdrawPromotion
    | RegisterLocation
    | ReceiveBatch
    | ExpectShipment
    | PlaceReservation
    | ConfirmReservation
    | ReleaseReservation
    | ExpireReservation
    | SellDirect
    | AcceptReturn
    | AdjustStock
    | TransferStock
    | QuarantineBatch
    | LiftQuarantine
    | RecallBatch
    | HoldCommand
    | OrderCommand
    | RegisterTill
    | DeclareReconciliationPolicy
    | RecordTillLines
    | ReplenishmentCommand
)
