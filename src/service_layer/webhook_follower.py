"""The webhook follower: derives webhook deliveries from the committed event log, never from
the writer. It reads the log after its own position (`webhook_positions`), turns each page's
events into messages for the subscriptions that want them, marks what the marketplace feed
must look at, and records all of it with the page's last position in one transaction. A crash
derives the page again: the deliveries' ids are the same, so the outbox gains nothing twice.
A subscriber that is down slows nobody: commands never wait for this."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from events.envelope import Envelope
from service_layer.marketplace_feed import KitBook, feed_marks
from service_layer.webhook_derivation import MessageDerivation
from service_layer.webhook_messages import RECALL_NOTICE, Message, deliveries
from storage.webhook_outbox import WebhookOutbox
from storage.webhook_subscriptions import SubscriptionBook
from streams.log_reader import LogReader
from streams.stream_metrics import POSITIONS

WEBHOOKS = "webhooks"  # its consumer label in the lag metrics

log = logging.getLogger(__name__)

FOLLOWER = "webhooks"
RecallSource = Callable[[str, str], dict[str, Any]]  # (SKU, batch) -> recall_notice(...)


class WebhookFollower:
    def __init__(
        self,
        reader: LogReader,
        outbox: WebhookOutbox,
        subscriptions: SubscriptionBook,
        derivation: MessageDerivation,
        recalls: RecallSource | None = None,
        page: int = 500,
        kits: KitBook | None = None,
    ) -> None:
        self.reader, self.outbox, self.subscriptions = reader, outbox, subscriptions
        self.derivation, self.recalls, self.page = derivation, recalls, page
        self.kits = kits
        self.derived = 0

    def follow(self) -> int:
        """Derive every page up to the log's head; returns the events read."""
        read = 0
        while True:
            after = self.outbox.position(FOLLOWER)
            POSITIONS.record(WEBHOOKS, after)
            batch = self.reader.read(after, self.page)
            if batch.last_position == after:
                return read
            for lost in batch.unreadable:
                log.warning(
                    "webhooks: event %s at %d unreadable: %s",
                    lost.event_id,
                    lost.position,
                    lost.error,
                )
            wanting = self.subscriptions.active()
            wanted = {event_type for s in wanting for event_type in s.event_types}
            messages = self.derivation.messages(batch.envelopes, wanted)
            if RECALL_NOTICE in wanted:
                messages += self._recall_messages(batch.envelopes)
            found = deliveries(messages, wanting)
            if self.kits is None:
                marks = feed_marks(batch.envelopes)
            else:
                self.kits.notice(batch.envelopes)
                marks = feed_marks(batch.envelopes, self.kits.kits_of)
            if self.outbox.record_page(FOLLOWER, after, batch.last_position, found, marks):
                read += len(batch.envelopes)
                self.derived += len(found)

    def _recall_messages(self, envelopes: list[Envelope]) -> list[Message]:
        found = []
        for envelope in envelopes:
            if envelope.type != "Sku.BatchRecalled" or self.recalls is None:
                continue
            sku, batch = envelope.subject.get("sku", ""), str(envelope.payload.get("batch"))
            notice = self.recalls(sku, batch)
            for entry in notice["channels"]:
                data = {"sku": sku, "batch": batch, "recorded_at": envelope.timestamp, **entry}
                found.append(
                    Message(
                        RECALL_NOTICE,
                        f"{envelope.event_id}:{entry['channel']}",
                        f"recall:{sku}:{batch}",
                        envelope.position,
                        entry["channel"],
                        datetime.fromisoformat(envelope.timestamp),
                        data,
                    )
                )
        return found
