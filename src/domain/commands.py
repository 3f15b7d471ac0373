"""Commands: imperative, frozen, each carrying the Trace that its events will carry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

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


@dataclass(frozen=True)
class ReleaseReservation:
    reservation_id: UUID
    trace: Trace


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


Command = (
    DefineProduct
    | ChangeProduct
    | AddVariant
    | RepriceSku
    | DiscontinueProduct
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
)
