"""The marketplace feed: each marketplace channel's available-to-sell per SKU (after its pool,
buffer and minimum shelf life), published when it changes, coalesced: at most one publication
per SKU and channel per `feed_interval_seconds`, on the Kafka topic `FEED_TOPIC` (when there
is a broker) and as `availability.changed` webhooks.

The webhook follower marks the (channel, SKU) pairs an event may move (`feed_marks`) in the
same transaction as its position; the publisher (`FeedPublisher.flush`) computes what is due
and publishes what changed. Availability is read through `feed_availability`, the one place
to switch to a projected channel availability."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, date, datetime

from domain.ids import kit_id
from domain.kits import Kit
from domain.ledger import InventoryLedger
from domain.order_sourcing import listed, viewed
from events.envelope import Envelope
from service_layer.order_queries import LedgerViewer, available_to_sell
from service_layer.webhook_messages import AVAILABILITY_CHANGED, Message, deliveries
from storage import marketplace_feed_rows as rows
from storage.marketplace_feed_rows import FeedRow
from storage.webhook_outbox import FeedMarks, WebhookOutbox, insert_deliveries
from storage.webhook_subscriptions import Subscription, SubscriptionBook

MARKETPLACE_CHANNELS = ("marketplace",)  # of domain.channel_rules.CHANNELS
FEED_TOPIC = "glow-marketplace-availability"
# Channel rules that move every SKU of the channel, and those that name one SKU.
WHOLE_CHANNEL_RULES = {
    "SalesChannel.SellingLocationsSet",
    "SalesChannel.MinimumShelfLifeSet",
}
SKU_RULES = {"SalesChannel.SafetyBufferSet", "SalesChannel.RingFencedPoolSet"}
Publish = Callable[[str, bytes, bytes], Awaitable[None]]  # topic, key, value


def feed_availability(ledger: InventoryLedger, channel: str, sku: str, today: date) -> int:
    """Units of `sku` the channel may sell now (read from the ledger's aggregates for now)."""
    return int(available_to_sell(ledger, channel, sku, today)["available_to_sell"])


KitsOf = Callable[[str], Iterable[str]]  # a component SKU -> the kits made with it


def feed_marks(envelopes: Iterable[Envelope], kits_of: KitsOf = lambda _: ()) -> FeedMarks:
    """The (channel, SKU) pairs a page of events may have moved, and whole channels. A kit's
    availability moves with each of its components', so a component marks its kits too."""
    pairs: set[tuple[str, str]] = set()
    whole: set[str] = set()
    for envelope in envelopes:
        sku = _sku_moved(envelope)
        if sku is not None:
            for moved in (sku, *kits_of(sku)):
                pairs.update((channel, moved) for channel in MARKETPLACE_CHANNELS)
        elif envelope.type in WHOLE_CHANNEL_RULES:
            channel = envelope.subject.get("channel")
            if channel in MARKETPLACE_CHANNELS:
                whole.add(channel)
    return FeedMarks(sorted(pairs), sorted(whole))


def _sku_moved(envelope: Envelope) -> str | None:
    if envelope.type.startswith("Stock.") or envelope.type == "Sku.BatchRecalled":
        return envelope.subject.get("sku")
    if envelope.type.startswith("Kit."):  # defined or recomposed: whole kits change
        return envelope.subject.get("sku")
    if envelope.type in SKU_RULES:  # another channel's pool hides units from marketplaces too
        sku = envelope.payload.get("sku")
        return str(sku) if sku else None
    return None


class KitBook:
    """Which kits each component SKU is part of, read from the ledger's kits; read again
    after a page that defines or recomposes a kit."""

    def __init__(self, ledger: InventoryLedger) -> None:
        self.ledger = ledger
        self._kits: dict[str, tuple[str, ...]] | None = None

    def notice(self, envelopes: Iterable[Envelope]) -> None:
        if any(envelope.type.startswith("Kit.") for envelope in envelopes):
            self._kits = None

    def kits_of(self, sku: str) -> tuple[str, ...]:
        if self._kits is None:
            self._kits = self._read()
        return self._kits.get(sku, ())

    def _read(self) -> dict[str, tuple[str, ...]]:
        viewer = LedgerViewer(self.ledger)
        directory = listed(viewer)
        found: dict[str, list[str]] = {}
        for kit_sku in directory.kits if directory is not None else ():
            kit = viewed(viewer, kit_id(kit_sku), Kit)
            for component in kit.components if kit is not None else {}:
                found.setdefault(component, []).append(kit_sku)
        return {component: tuple(kits) for component, kits in found.items()}


class FeedPublisher:
    def __init__(
        self,
        ledger: InventoryLedger,
        outbox: WebhookOutbox,
        subscriptions: SubscriptionBook,
        interval_seconds: float,
        publish: Publish | None = None,
        topic_prefix: str = "",
    ) -> None:
        self.ledger, self.outbox, self.subscriptions = ledger, outbox, subscriptions
        self.interval = interval_seconds
        self.publish = publish
        self.topic = topic_prefix + FEED_TOPIC
        self.published = 0

    async def flush(self, limit: int = 200) -> int:
        """Publish what is due and changed; returns how many rows were looked at."""
        due = await asyncio.to_thread(self._due, limit)
        for row in due:
            today = datetime.now(tz=UTC).date()
            units = await asyncio.to_thread(
                feed_availability, self.ledger, row.channel, row.sku, today
            )
            if units == row.published_units:
                await asyncio.to_thread(self._flushed, row, None, [])
                continue
            message = _publication(row, units)
            if self.publish is not None:
                await self.publish(self.topic, f"{row.channel}:{row.sku}".encode(), message.body())
            wanting = await asyncio.to_thread(self.subscriptions.active)
            await asyncio.to_thread(self._flushed, row, units, [message], wanting)
            self.published += 1
        return len(due)

    def _due(self, limit: int) -> list[FeedRow]:
        with self.outbox.lock:
            return rows.due(self.outbox.connection(), self.interval, limit)

    def _flushed(
        self,
        row: FeedRow,
        units: int | None,
        messages: list[Message],
        wanting: Iterable[Subscription] = (),
    ) -> None:
        with self.outbox.lock, self.outbox.connection().transaction():
            conn = self.outbox.connection()
            insert_deliveries(conn, deliveries(messages, wanting))
            rows.flushed(conn, row, units)


def _publication(row: FeedRow, units: int) -> Message:
    now = datetime.now(tz=UTC)
    data = {
        "channel": row.channel,
        "sku": row.sku,
        "available_to_sell": units,
        "previous_available_to_sell": row.published_units,
        "as_of_position": row.changed_position,
        "published_at": now.isoformat(),
    }
    return Message(
        AVAILABILITY_CHANGED,
        f"{row.channel}:{row.sku}:{row.changed_position}",
        f"availability:{row.channel}:{row.sku}",
        row.changed_position,
        row.channel,
        now,
        data,
    )
