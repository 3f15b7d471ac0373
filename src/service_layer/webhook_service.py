"""Webhooks and the marketplace feed at work: the follower (log -> outbox), the feed
publisher and the dispatcher, in one asyncio loop. Run by `glow webhooks` (its own process),
or as a thread of `glow serve` on PostgreSQL without a broker, like the embedded follower:
never in the writer, so a subscriber that is down never slows a command."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from configuration.settings import Settings, postgres_conninfo
from domain.ledger import InventoryLedger
from privacy.master_keys import MasterKeys
from service_layer.customer_desk import CustomerDesk
from service_layer.marketplace_feed import FeedPublisher, KitBook
from service_layer.recall_notices import recall_notice
from service_layer.webhook_derivation import MessageDerivation
from service_layer.webhook_dispatcher import Dispatcher, DispatchPolicy
from service_layer.webhook_follower import WebhookFollower
from storage.webhook_outbox import WebhookOutbox
from storage.webhook_subscriptions import SubscriptionBook
from streams.log_reader import LogReader
from streams.outages import Backoff

if TYPE_CHECKING:
    import aiohttp

log = logging.getLogger(__name__)

POLL_SECONDS = 0.05
FLUSH_SECONDS = 0.2


class WebhookService:
    def __init__(
        self,
        settings: Settings,
        ledger: InventoryLedger,
        keys: MasterKeys,
        customers: CustomerDesk | None = None,
    ) -> None:
        conninfo = postgres_conninfo(settings.event_store_url)
        self.settings = settings
        # One connection for the subscriptions and one for what follows the log (each locked):
        # a served ledger keeps its connections to PostgreSQL few. The dispatcher has its own.
        subscriptions, derived = SubscriptionBook(conninfo), WebhookOutbox(conninfo)
        self.follower = WebhookFollower(
            LogReader(ledger),
            derived,
            subscriptions,
            MessageDerivation(ledger, settings.stock_low_units),
            lambda sku, batch: recall_notice(ledger, customers, sku, batch),
            kits=KitBook(ledger),
        )
        self.feed = FeedPublisher(
            ledger,
            derived,
            subscriptions,
            settings.feed_interval_seconds,
            topic_prefix=settings.topic_prefix,
        )
        self.dispatcher = Dispatcher(
            WebhookOutbox(conninfo),
            subscriptions,
            keys,
            DispatchPolicy.from_settings(settings),
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    async def run(self, stop: asyncio.Event) -> None:
        import aiohttp  # the HTTP client only where deliveries are sent

        from service_layer.webhook_resolver import GuardedResolver

        topic = None
        if self.settings.broker_url:
            from streams.feed_topic import FeedTopic  # Kafka's client only with a broker

            topic = FeedTopic(self.settings.bootstrap_servers())
            await topic.start(self.feed.topic)
            self.feed.publish = topic.publish
        try:
            connector = aiohttp.TCPConnector(
                limit=self.dispatcher.policy.concurrency,
                resolver=GuardedResolver(self.settings.webhook_private_hosts),
            )
            async with aiohttp.ClientSession(connector=connector) as client:
                await asyncio.gather(
                    _repeat("webhook follower", self._follow, stop, POLL_SECONDS),
                    _repeat("marketplace feed", self.feed.flush, stop, FLUSH_SECONDS),
                    self._dispatch(client, stop),
                )
        finally:
            if topic is not None:
                await topic.stop()

    async def _dispatch(self, client: aiohttp.ClientSession, stop: asyncio.Event) -> None:
        backoff = Backoff("webhook dispatcher", log)
        while not stop.is_set():
            try:
                await self.dispatcher.run(client, stop)
            except Exception as error:  # the store away: deliveries wait, leased or pending
                await _pause(stop, backoff.failed(error))

    async def _follow(self) -> int:
        return await asyncio.to_thread(self.follower.follow)

    # --- as a thread of `glow serve` ------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run_thread, name="webhooks", daemon=True)
        self._thread.start()

    def _run_thread(self) -> None:
        asyncio.run(self._until_stopped())

    async def _until_stopped(self) -> None:
        stop = asyncio.Event()
        waiter = asyncio.create_task(asyncio.to_thread(self._stop.wait))
        waiter.add_done_callback(lambda _: stop.set())
        await self.run(stop)

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.close()

    def close(self) -> None:
        shared = (
            self.follower.outbox,
            self.follower.subscriptions,
            self.feed.outbox,
            self.feed.subscriptions,
            self.dispatcher.outbox,
            self.dispatcher.subscriptions,
        )
        for held in {id(each): each for each in shared}.values():
            held.close()


async def _repeat(
    name: str, work: Callable[[], Awaitable[int]], stop: asyncio.Event, idle_seconds: float
) -> None:
    """Run `work` until `stop`; pause `idle_seconds` when it found nothing to do, and back off
    when it fails (the store or the broker away)."""
    backoff = Backoff(name, log)
    while not stop.is_set():
        try:
            done = await work()
        except Exception as error:
            await _pause(stop, backoff.failed(error))
            continue
        backoff.succeeded()
        if not done:
            await _pause(stop, idle_seconds)


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        return
