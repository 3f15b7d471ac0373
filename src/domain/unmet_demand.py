"""Demand the ledger refused for lack of stock: a reservation, a sale, a pre-order or an order
answered 409 `insufficient-stock` or `cannot-source`. A forecast that saw only sales would
take a stock-out for a lull; these records say what customers asked for and could not have.

The writer records them (service_layer/command_writer.py) in a transaction of their own when
it refuses a command on fresh state; `unmet_demand` says what to record, as a pure function of
the command and its error. A record names a SKU, a location and units, never a customer: its
trace is the command's without the customer's id.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate

from domain import commands as c
from domain.errors import CannotSourceError, InsufficientStockError
from domain.ids import GLOWLEDGER_NAMESPACE
from domain.order_commands import PlaceOrder
from domain.sourcing import PickUpAt
from domain.trace import Trace

INSUFFICIENT_STOCK = InsufficientStockError.code  # "insufficient-stock"
CANNOT_SOURCE = CannotSourceError.code  # "cannot-source"
REASONS = (INSUFFICIENT_STOCK, CANNOT_SOURCE)

# The commands whose refusal for stock is a customer's demand the ledger could not meet. An
# adjustment or a transfer refused for stock is the shop's own bookkeeping, not demand; a
# till's sale is never refused for stock (it is reconciled: domain/till_reconciliation.py).
STOCK_DEMAND = (c.PlaceReservation, c.SellDirect, c.PlacePreorder)
SOURCED_DEMAND = (PlaceOrder,)


@dataclass(frozen=True)
class Shortfall:
    """One SKU at one location that a refused command asked more of than the ledger had."""

    demand_id: UUID
    sku: str
    location: str  # "" when no location can be named (an order none could source)
    asked: int
    available: int
    reason: str  # one of REASONS
    command: str  # the refused command's kind, e.g. "PlaceReservation"
    trace: Trace  # the command's, without the customer's id

    @property
    def short(self) -> int:
        return self.asked - self.available


class UnmetDemand(Aggregate):
    """One record of refused demand; it has only its creation event."""

    class Recorded(Aggregate.Created):
        sku: str
        location: str
        asked: int
        available: int
        short: int
        reason: str
        command: str
        channel: str
        trace: Trace

    def __init__(
        self,
        sku: str,
        location: str,
        asked: int,
        available: int,
        short: int,
        reason: str,
        command: str,
        channel: str,
        trace: Trace,
    ) -> None:
        self.sku = sku
        self.location = location
        self.asked = asked
        self.available = available
        self.short = short
        self.reason = reason
        self.command = command
        self.channel = channel

    @classmethod
    def record(cls, shortfall: Shortfall) -> UnmetDemand:
        return cls._create(
            cls.Recorded,
            id=shortfall.demand_id,
            sku=shortfall.sku,
            location=shortfall.location,
            asked=shortfall.asked,
            available=shortfall.available,
            short=shortfall.short,
            reason=shortfall.reason,
            command=shortfall.command,
            channel=shortfall.trace.channel,
            trace=shortfall.trace,
        )


def unmet_demand(
    command: object, error: BaseException, idempotency_key: str | None = None
) -> list[Shortfall]:
    """What to record of `command`'s refusal with `error`: one shortfall per SKU it was short
    of, none when the refusal is not for stock or the command is not a customer's demand.

    `idempotency_key` is the key the writer keeps the command's answer under (the trace's when
    not given): the records' ids derive from it, so a client retrying a refused command with
    the same key records its demand once. Without a key each refusal is a new record."""
    if isinstance(error, InsufficientStockError) and isinstance(command, STOCK_DEMAND):
        found = [_stock_shortfall(error.details)]
    elif isinstance(error, CannotSourceError) and isinstance(command, SOURCED_DEMAND):
        found = _sourcing_shortfalls(command, error.details)
    else:
        return []
    trace: Trace = command.trace
    key = idempotency_key if idempotency_key is not None else trace.idempotency_key
    anonymous = replace(trace, customer_id=None)
    kind = type(command).__name__
    return [
        Shortfall(
            demand_id(key, sku, where), sku, where, asked, available, error.code, kind, anonymous
        )
        for sku, where, asked, available in found
        if asked - available >= 1
    ]


def demand_id(idempotency_key: str | None, sku: str, location: str) -> UUID:
    """The same for a retry under the same key; a new one for every refusal without a key."""
    if idempotency_key is None:
        return uuid4()
    return uuid5(GLOWLEDGER_NAMESPACE, f"unmet-demand:{idempotency_key}:{sku}@{location}")


Found = tuple[str, str, int, int]  # SKU, location, asked, available


def _stock_shortfall(details: dict[str, Any]) -> Found:
    """InsufficientStockError names the SKU, the location, the units requested and available
    (domain/stock.py, domain/loading.py)."""
    asked = int(details["requested"])
    available = max(0, min(asked, int(details["available"])))
    return str(details["sku"]), str(details["location"]), asked, available


def _sourcing_shortfalls(order: PlaceOrder, details: dict[str, Any]) -> list[Found]:
    """CannotSourceError lists per order line the units of a SKU no location could take
    (domain/sourcing.py); the order's lines say how many of that SKU were asked in all, and the
    ledger could give the rest. A kit's line is short of its components, whose units per kit
    the order does not name: a component the order does not also ask for on a line of its own
    is recorded with its unserved units asked and none available. A click-and-collect order
    names its pickup store; a shipped one no location ("")."""
    location = order.delivery.store if isinstance(order.delivery, PickUpAt) else ""
    short: dict[str, int] = {}
    for entry in details.get("unserved", []):
        sku = str(entry["sku"])
        short[sku] = short.get(sku, 0) + int(entry["units"])
    found = []
    for sku, units in short.items():
        asked = max(units, sum(item.quantity for item in order.lines if item.sku == sku))
        found.append((sku, location, asked, asked - units))
    return found
