"""From published events to webhook messages: an order's state change, a location's stock
falling low, a replenishment run's alerts (low stock within the lead time, expiry risk). Each
message is a function of the event and of its aggregate just before and just after it, which
the follower keeps (`AggregateSteps`) so that following the log costs one event read per
event, not a replay of the aggregate."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.ledger import InventoryLedger
from domain.order import Order
from domain.replenishment import EXPIRY_RISK, LOW_STOCK
from domain.stock import Stock
from events.envelope import Envelope
from service_layer.webhook_messages import (
    ORDER_STATUS_CHANGED,
    REPLENISHMENT_EXPIRY_RISK,
    REPLENISHMENT_LOW_STOCK,
    STOCK_LOW,
    Message,
)

T = TypeVar("T")
MOST_KEPT = 20_000  # aggregates kept at their last followed version


class AggregateSteps:
    """Aggregates as of the last event followed, to measure each event's before and after."""

    def __init__(self, ledger: InventoryLedger) -> None:
        self.ledger = ledger
        self._kept: dict[UUID, Aggregate] = {}

    def step(
        self, aggregate_id: UUID, version: int, measure: Callable[[Any], T]
    ) -> tuple[T | None, T | None]:
        """`measure` of the aggregate before and after its event at `version`."""
        before = self._at(aggregate_id, version - 1)
        measured = None if before is None else measure(before)
        events: list[Any] = list(self.ledger.events.get(aggregate_id, gt=version - 1, lte=version))
        if not events:
            return measured, None
        after: Aggregate | None = events[0].mutate(before)
        if after is None:
            return measured, None
        self._keep(after)
        return measured, measure(after)

    def _at(self, aggregate_id: UUID, version: int) -> Aggregate | None:
        kept = self._kept.get(aggregate_id)
        if kept is not None and kept.version == version:
            return kept
        if version < 1:
            return None
        found: Aggregate = self.ledger.repository.get(aggregate_id, version=version)
        return copy.deepcopy(found)

    def _keep(self, aggregate: Aggregate) -> None:
        self._kept.pop(aggregate.id, None)
        self._kept[aggregate.id] = aggregate
        if len(self._kept) > MOST_KEPT:
            del self._kept[next(iter(self._kept))]


class MessageDerivation:
    def __init__(self, ledger: InventoryLedger, stock_low_units: int) -> None:
        self.steps = AggregateSteps(ledger)
        self.stock_low_units = stock_low_units

    def messages(self, envelopes: Iterable[Envelope], wanted: set[str]) -> list[Message]:
        found: list[Message] = []
        for envelope in envelopes:
            kind = envelope.type.split(".", 1)[0]
            if kind == "Order" and ORDER_STATUS_CHANGED in wanted:
                found += self._order_change(envelope)
            elif kind == "Stock" and STOCK_LOW in wanted:
                found += self._stock_low(envelope)
            elif envelope.type == "ReplenishmentBook.PlanRecorded":
                found += replenishment_alerts(envelope, wanted)
        return found

    def _order_change(self, envelope: Envelope) -> list[Message]:
        before, after = self.steps.step(UUID(envelope.aggregate_id), envelope.version, _order_state)
        if after is None:
            return []
        fulfilment_id = envelope.payload.get("fulfilment_id")
        data = {
            "order_id": envelope.aggregate_id,
            "change": envelope.type,
            "status": after["status"],
            "previous_status": None if before is None else before["status"],
            "channel": after["channel"],
            "source_ref": after["source_ref"],
            "customer_id": after["customer_id"],  # pseudonymous
            "fulfilment_id": fulfilment_id,
            "fulfilment_status": after["fulfilments"].get(fulfilment_id),
            "version": envelope.version,
            "recorded_at": envelope.timestamp,
        }
        return [_message(ORDER_STATUS_CHANGED, envelope, after["channel"], data)]

    def _stock_low(self, envelope: Envelope) -> list[Message]:
        day = datetime.fromisoformat(envelope.timestamp).date()
        before, after = self.steps.step(
            UUID(envelope.aggregate_id), envelope.version, lambda s: _available(s, day)
        )
        low = self.stock_low_units
        if after is None or after >= low or (before is not None and before < low):
            return []
        data = {
            "sku": envelope.subject.get("sku"),
            "location": envelope.subject.get("location"),
            "available": after,
            "previous_available": before,
            "below": low,
            "change": envelope.type,
            "recorded_at": envelope.timestamp,
        }
        return [_message(STOCK_LOW, envelope, None, data)]


ALERT_TYPES = {LOW_STOCK: REPLENISHMENT_LOW_STOCK, EXPIRY_RISK: REPLENISHMENT_EXPIRY_RISK}


def replenishment_alerts(envelope: Envelope, wanted: set[str]) -> list[Message]:
    """One message per alert of a run at a location (each its own `webhook-id`)."""
    found = []
    for n, alert in enumerate(envelope.payload.get("alerts", [])):
        event_type = ALERT_TYPES.get(alert.get("kind"))
        if event_type is None or event_type not in wanted:
            continue
        data = {
            **alert,
            "run_id": envelope.payload.get("run_id"),
            "recorded_at": envelope.timestamp,
        }
        found.append(_message(event_type, envelope, None, data, part=n))
    return found


def _message(
    event_type: str, envelope: Envelope, channel: str | None, data: Any, part: int | None = None
) -> Message:
    """The message of an event (of one `part` of it, when an event makes several: each its
    own id)."""
    return Message(
        event_type,
        envelope.event_id if part is None else f"{envelope.event_id}:{part}",
        envelope.aggregate_id,
        envelope.position,
        channel,
        datetime.fromisoformat(envelope.timestamp),
        data,
    )


def _order_state(order: Any) -> dict[str, Any]:
    assert isinstance(order, Order)
    return {
        "status": order.status,
        "channel": order.channel,
        "source_ref": order.source_ref,
        "customer_id": order.customer_id,
        "fulfilments": {f.fulfilment_id: f.status for f in order.fulfilments.values()},
    }


def _available(stock: Any, day: Any) -> int:
    assert isinstance(stock, Stock)
    return stock.available(day)
