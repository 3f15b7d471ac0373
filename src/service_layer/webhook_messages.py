"""What a webhook says: its event types, a message as derived from the log, and its
deliveries to the subscriptions that want it.

A message's id is a function of the subscription and of what the message reports (an event,
a feed publication, a recall), so deriving it again gives the same `webhook-id`: a receiver
dedupes on it, and the outbox never holds it twice. The body follows the Standard Webhooks
layout (`type`, `timestamp`, `data`) and names customers only by their pseudonymous ids."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

import orjson

from storage.webhook_outbox import Delivery
from storage.webhook_subscriptions import Subscription

ORDER_STATUS_CHANGED = "order.status_changed"
STOCK_LOW = "stock.low"
AVAILABILITY_CHANGED = "availability.changed"
RECALL_NOTICE = "recall.notice"
REPLENISHMENT_LOW_STOCK = "replenishment.low_stock"  # projected to run out within lead time
REPLENISHMENT_EXPIRY_RISK = "replenishment.expiry_risk"  # a batch that will not sell in time
EVENT_TYPES = (
    ORDER_STATUS_CHANGED,
    STOCK_LOW,
    AVAILABILITY_CHANGED,
    RECALL_NOTICE,
    REPLENISHMENT_LOW_STOCK,
    REPLENISHMENT_EXPIRY_RISK,
)


@dataclass(frozen=True)
class Message:
    event_type: str
    reports: str  # what it reports, unique within its type (an event id, a publication)
    ordering_key: str  # messages with one key are delivered in the order derived
    position: int  # the log position of what it reports (subscriptions hear what follows them)
    channel: str | None  # the channel it concerns (None: every channel's subscribers)
    recorded_at: datetime  # when the ledger committed what it reports
    data: dict[str, Any]

    def body(self) -> bytes:
        return orjson.dumps(
            {"type": self.event_type, "timestamp": self.recorded_at.isoformat(), "data": self.data}
        )


def message_id(subscription_id: UUID, message: Message) -> str:
    return "msg_" + uuid5(subscription_id, f"{message.event_type}:{message.reports}").hex


def deliveries(
    messages: Iterable[Message], subscriptions: Iterable[Subscription]
) -> list[Delivery]:
    """One delivery per message and subscription that wants it."""
    wanting = list(subscriptions)
    found = []
    for message in messages:
        body = None
        for subscription in wanting:
            if subscription.wants(message.event_type, message.channel, message.position):
                body = body or message.body()
                found.append(
                    Delivery(
                        message_id(subscription.id, message),
                        subscription.id,
                        message.event_type,
                        message.ordering_key,
                        body,
                        message.recorded_at,
                    )
                )
    return found
