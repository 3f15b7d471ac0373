"""What the back office does with webhooks (the API's routes and `glow webhooks`): subscribe,
list and remove subscriptions, list dead letters and replay them, count deliveries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from configuration.settings import Settings, postgres_conninfo
from domain.errors import NotFoundError
from domain.ledger import InventoryLedger
from privacy.master_keys import MasterKeys
from service_layer.webhook_subscribing import subscribe
from storage.webhook_outbox import WebhookOutbox
from storage.webhook_subscriptions import SubscriptionBook


class WebhookDesk:
    def __init__(
        self,
        conninfo: str,
        keys: MasterKeys,
        ledger: InventoryLedger,
        private_hosts: bool = False,
    ) -> None:
        self.subscriptions = SubscriptionBook(conninfo)
        self.outbox = WebhookOutbox(conninfo)
        self.keys, self.ledger = keys, ledger
        self.private_hosts = private_hosts

    @classmethod
    def from_settings(
        cls, settings: Settings, keys: MasterKeys, ledger: InventoryLedger
    ) -> WebhookDesk:
        conninfo = postgres_conninfo(settings.event_store_url)
        return cls(conninfo, keys, ledger, settings.webhook_private_hosts)

    def subscribe(
        self, url: str, event_types: Sequence[str], channels: Sequence[str] | None
    ) -> dict[str, Any]:
        head = self.ledger.recorder.max_notification_id() or 0
        return subscribe(
            self.subscriptions, self.keys, head, url, event_types, channels, self.private_hosts
        )

    def listed(self) -> list[dict[str, Any]]:
        return [s.as_dict() for s in self.subscriptions.active()]

    def remove(self, subscription_id: UUID) -> None:
        if not self.subscriptions.remove(subscription_id):
            raise NotFoundError(
                f"no webhook subscription {subscription_id}: it never existed or was removed"
            )

    def dead_letters(self, subscription_id: UUID | None, limit: int = 100) -> list[dict[str, Any]]:
        return self.outbox.dead_letters(subscription_id, limit)

    def replay(self, subscription_id: UUID | None, message_ids: Sequence[str] | None) -> int:
        return self.outbox.replay(subscription_id, message_ids)

    def counts(self) -> dict[str, int]:
        return self.outbox.counts()

    def close(self) -> None:
        self.subscriptions.close()
        self.outbox.close()
