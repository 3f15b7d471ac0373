"""Commands on orders, sales channels' rules and kits: imperative, frozen, each carrying the
Trace its events will carry and, when it acts on an existing order, the caller's Authority."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING
from uuid import UUID

from domain.trace import Trace

if TYPE_CHECKING:  # domain.commands names these commands in its Command union
    from domain.commands import Authority
    from domain.sourcing import Delivery


@dataclass(frozen=True)
class OrderedItem:
    """An order line as a channel sends it: a SKU (a kit's too) and how many."""

    sku: str
    quantity: int


@dataclass(frozen=True)
class PlaceOrder:
    order_id: UUID
    lines: tuple[OrderedItem, ...]
    delivery: Delivery
    trace: Trace


@dataclass(frozen=True)
class ProgressFulfilment:
    """One step of a fulfilment order: picking, packed, shipped, delivered, ready for pickup,
    collected or not collected (`domain.order_handlers.STEPS`)."""

    order_id: UUID
    fulfilment_id: str
    step: str
    trace: Trace
    authority: Authority


@dataclass(frozen=True)
class CancelOrder:
    order_id: UUID
    trace: Trace
    authority: Authority


@dataclass(frozen=True)
class CancelOrderLines:
    order_id: UUID
    lines: dict[str, int]  # line id -> items cancelled
    trace: Trace
    authority: Authority


@dataclass(frozen=True)
class EditOrderLines:
    order_id: UUID
    add: tuple[OrderedItem, ...]
    remove: tuple[str, ...]
    change: dict[str, int]  # line id -> its new quantity
    trace: Trace
    authority: Authority


@dataclass(frozen=True)
class ReportPayment:
    """The channel tells what became of the payment: authorised, captured or failed."""

    order_id: UUID
    outcome: str
    amount: Decimal | None
    trace: Trace
    authority: Authority


@dataclass(frozen=True)
class RequestReturn:
    order_id: UUID
    lines: dict[str, int]  # line id -> items asked back
    trace: Trace
    authority: Authority


@dataclass(frozen=True)
class ReceiveReturn:
    order_id: UUID
    rma_id: str
    location: str
    restocked: dict[str, int]
    damaged: dict[str, int]
    trace: Trace
    authority: Authority


@dataclass(frozen=True)
class RefundReturn:
    order_id: UUID
    rma_id: str
    amount: Decimal
    trace: Trace
    authority: Authority


@dataclass(frozen=True)
class SourcingRules:
    strategy: str
    priority: tuple[str, ...]
    ship_from_store: bool
    split_allowed: bool


@dataclass(frozen=True)
class ChangeChannelRules:
    """Whatever is named changes; what is left out stays as it is."""

    channel: str
    trace: Trace
    sell_from: tuple[str, ...] | None = None
    sell_from_everywhere: bool = False
    safety_buffers: dict[str, int] = field(default_factory=dict)  # SKU -> units
    ring_fenced_pools: dict[str, int] = field(default_factory=dict)  # SKU -> units
    min_shelf_life_days: int | None = None
    sourcing: SourcingRules | None = None


@dataclass(frozen=True)
class DefineKit:
    """Define a kit, or change what an existing kit is made of."""

    sku: str
    components: dict[str, int]  # component SKU -> units in one kit
    trace: Trace


OrderCommand = (
    PlaceOrder
    | ProgressFulfilment
    | CancelOrder
    | CancelOrderLines
    | EditOrderLines
    | ReportPayment
    | RequestReturn
    | ReceiveReturn
    | RefundReturn
    | ChangeChannelRules
    | DefineKit
)
