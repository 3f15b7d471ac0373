"""The webhook dispatcher: sends due deliveries, many at once, each signed per the Standard
Webhooks spec (`webhook-id`, `webhook-timestamp`, `webhook-signature`: HMAC-SHA256 over
id.timestamp.body with the subscription's secret, by the `standardwebhooks` library).

A delivery is claimed with a lease (`webhook_outbox`), so only the oldest pending delivery of
each (subscription, ordering key) is ever in flight: one aggregate's deliveries arrive in
order. A 2xx answer delivers it; anything else (an error status, a refused connection, no
answer within the timeout) retries it after an exponential backoff with jitter, until the last
attempt makes it a dead letter, to be replayed (`glow webhooks replay`, the API)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

import aiohttp
from standardwebhooks.webhooks import Webhook

from configuration.settings import Settings
from privacy.master_keys import MasterKeys
from service_layer.webhook_metrics import (
    ATTEMPTS,
    CONNECTION,
    DEAD,
    DELIVERED,
    FAILURES,
    RETRIED,
    TIMEOUT,
    UNSUBSCRIBED,
    status_reason,
)
from service_layer.webhook_subscribing import unseal
from storage.webhook_outbox import Claimed, WebhookOutbox
from storage.webhook_subscriptions import SubscriptionBook

log = logging.getLogger(__name__)

POLL_SECONDS = 0.05
SETTLE_SECONDS = 0.01  # outcomes wait at most this long to be recorded together
REFRESH_SECONDS = 5.0  # subscriptions' URLs and secrets are read again at least this often
LEASE_MARGIN_SECONDS = 30.0  # a claimed delivery nobody settles is due again after its lease


@dataclass(frozen=True)
class DispatchPolicy:
    timeout_seconds: float = 5.0
    max_attempts: int = 8
    backoff_seconds: float = 1.0
    backoff_cap_seconds: float = 600.0
    concurrency: int = 64

    @classmethod
    def from_settings(cls, settings: Settings) -> DispatchPolicy:
        return cls(
            settings.webhook_timeout_seconds,
            settings.webhook_max_attempts,
            settings.webhook_backoff_seconds,
            settings.webhook_backoff_cap_seconds,
            settings.webhook_concurrency,
        )

    def retry_delay(self, attempts: int, rng: random.Random) -> float | None:
        """Seconds before the next attempt after `attempts` failed ones; None: dead letter.
        Exponential, capped, with "equal jitter" (half fixed, half random)."""
        if attempts >= self.max_attempts:
            return None
        ceiling = min(self.backoff_cap_seconds, self.backoff_seconds * 2.0 ** (attempts - 1))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


@dataclass(frozen=True)
class Signer:
    url: str
    webhook: Webhook

    def headers(self, message_id: str, body: bytes, now: datetime) -> dict[str, str]:
        return {
            "webhook-id": message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": self.webhook.sign(message_id, now, body.decode()),
            "content-type": "application/json",
            "user-agent": "glowledger-webhooks",
        }


class Dispatcher:
    def __init__(
        self,
        outbox: WebhookOutbox,
        subscriptions: SubscriptionBook,
        keys: MasterKeys,
        policy: DispatchPolicy,
        rng: random.Random | None = None,
    ) -> None:
        self.outbox, self.subscriptions, self.keys = outbox, subscriptions, keys
        self.policy = policy
        self.rng = rng or random.Random()
        self._signers: dict[UUID, Signer] = {}
        self._read_at = 0.0
        self.delivered = 0
        self.failures = 0

    async def run(self, client: aiohttp.ClientSession, stop: asyncio.Event) -> None:
        """Keep up to `concurrency` calls in flight; claim and settle in batches (a quarter of
        the concurrency, or whatever there is after `SETTLE_SECONDS`), one round trip each."""
        inflight: set[asyncio.Task[tuple[Claimed, str | None]]] = set()
        finished: list[tuple[Claimed, str | None]] = []
        lease = self.policy.timeout_seconds + LEASE_MARGIN_SECONDS
        batch = max(1, self.policy.concurrency // 4)
        settled_at = time.monotonic()
        try:
            while not stop.is_set():
                free = self.policy.concurrency - len(inflight)
                if free >= batch or not inflight:
                    claimed = await asyncio.to_thread(self.outbox.claim, free, lease)
                    if claimed:
                        await self._know_signers({c.subscription_id for c in claimed})
                    for delivery in claimed:
                        inflight.add(asyncio.create_task(self._deliver(client, delivery)))
                if not inflight and not finished:
                    await _pause(stop, POLL_SECONDS)
                    continue
                if inflight:
                    done, inflight = await asyncio.wait(
                        inflight, timeout=SETTLE_SECONDS, return_when=asyncio.FIRST_COMPLETED
                    )
                    finished += [task.result() for task in done]
                late = time.monotonic() - settled_at > SETTLE_SECONDS
                if finished and (len(finished) >= batch or late or not inflight):
                    await asyncio.to_thread(self._settle, finished)
                    finished, settled_at = [], time.monotonic()
        finally:
            for task in inflight:
                task.cancel()  # unsettled: due again when their lease runs out
            if finished:
                await asyncio.to_thread(self._settle, finished)

    async def _know_signers(self, wanted: set[UUID]) -> None:
        stale = time.monotonic() - self._read_at > REFRESH_SECONDS
        if stale or not wanted <= self._signers.keys():
            self._signers = await asyncio.to_thread(self._read_signers)
            self._read_at = time.monotonic()

    def _read_signers(self) -> dict[UUID, Signer]:
        urls = self.subscriptions.urls()
        return {
            subscription_id: Signer(
                urls[subscription_id], Webhook(unseal(self.keys, subscription_id, sealed))
            )
            for subscription_id, sealed in self.subscriptions.secrets().items()
            if subscription_id in urls
        }

    async def _deliver(
        self, client: aiohttp.ClientSession, delivery: Claimed
    ) -> tuple[Claimed, str | None]:
        signer = self._signers.get(delivery.subscription_id)
        if signer is None:
            FAILURES.labels(UNSUBSCRIBED).inc()
            return delivery, "the subscription was removed"
        headers = signer.headers(delivery.message_id, delivery.body, datetime.now(tz=UTC))
        timeout = aiohttp.ClientTimeout(total=self.policy.timeout_seconds)
        try:
            async with client.post(
                signer.url, data=delivery.body, headers=headers, timeout=timeout
            ) as answer:
                status = answer.status
        except TimeoutError:
            FAILURES.labels(TIMEOUT).inc()
            return delivery, f"no answer within {self.policy.timeout_seconds} s"
        except aiohttp.ClientError as error:
            FAILURES.labels(CONNECTION).inc()
            return delivery, f"{type(error).__name__}: {error}"[:300]
        if 200 <= status < 300:
            return delivery, None
        FAILURES.labels(status_reason(status)).inc()
        return delivery, f"HTTP {status}"

    def _settle(self, outcomes: list[tuple[Claimed, str | None]]) -> None:
        self.outbox.delivered([delivery.id for delivery, error in outcomes if error is None])
        for delivery, error in outcomes:
            if error is None:
                self.delivered += 1
                ATTEMPTS.labels(DELIVERED).inc()
                continue
            self.failures += 1
            retry_in = self.policy.retry_delay(delivery.attempts, self.rng)
            self.outbox.failed(delivery.id, error, retry_in)
            ATTEMPTS.labels(RETRIED if retry_in is not None else DEAD).inc()
            if retry_in is None:
                log.warning(
                    "webhooks: delivery %s set aside after %d attempts: %s",
                    delivery.message_id,
                    delivery.attempts,
                    error,
                )
        failed = sum(1 for _, error in outcomes if error is not None)
        log.info(  # one line per delivery round (configuration/logs.py)
            "webhook delivery round",
            extra={"step": "webhook-round", "delivered": len(outcomes) - failed, "failed": failed},
        )


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
