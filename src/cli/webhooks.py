"""`glow webhooks run|replay|dead-letters|subscriptions`: the process that delivers webhooks
and publishes the marketplace feed (with a broker; without one `glow serve` does it in a
thread), and the operator's look at what failed and the replay of it."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from uuid import UUID

from configuration.settings import Settings, postgres_conninfo
from service_layer.bootstrap import open_ledger
from service_layer.customer_desk import CustomerDesk
from service_layer.customer_store import close_customer_ledger, master_keys, open_customer_ledger
from service_layer.webhook_desk import WebhookDesk

if TYPE_CHECKING:
    from service_layer.webhook_service import WebhookService


def add_parsers(commands: Any) -> None:
    hooks = commands.add_parser("webhooks", help="outbound webhooks and the marketplace feed")
    actions = hooks.add_subparsers(dest="action", required=True)
    actions.add_parser("run", help="derive, deliver and publish until SIGINT/SIGTERM").set_defaults(
        run=_run
    )
    letters = actions.add_parser("dead-letters", help="deliveries that failed every attempt")
    letters.add_argument("--subscription", type=UUID, help="only this subscription's")
    letters.add_argument("--limit", type=int, default=100)
    letters.set_defaults(run=_dead_letters)
    replay = actions.add_parser("replay", help="send dead-lettered deliveries again")
    replay.add_argument("--subscription", type=UUID, help="only this subscription's")
    replay.add_argument(
        "--message", action="append", dest="messages", help="a webhook-id (repeatable)"
    )
    replay.set_defaults(run=_replay)
    actions.add_parser(
        "subscriptions", help="the subscriptions (never their secrets)"
    ).set_defaults(run=_subscriptions)


def _require_postgres(settings: Settings) -> bool:
    if not settings.is_postgres():
        print("glow: webhooks need a PostgreSQL event store (--store postgresql://...)")
        return False
    return True


def _run(settings: Settings, args: argparse.Namespace) -> int:
    if not _require_postgres(settings):
        return 2
    from cli.lag import log_head
    from cli.metrics_port import serve_metrics
    from service_layer.webhook_metrics import OutboxCollector
    from service_layer.webhook_service import WebhookService  # aiohttp: only to deliver
    from storage.webhook_outbox import WebhookOutbox
    from streams.stream_metrics import LagCollector

    ledger = open_ledger(settings)
    customers = open_customer_ledger(settings)
    desk = CustomerDesk(customers)
    service = WebhookService(settings, ledger, customers.vault.masters, desk)
    conninfo = postgres_conninfo(settings.event_store_url)
    scraped = WebhookOutbox(conninfo)  # a connection of the scrapes' own
    try:
        serve_metrics(
            settings,
            "webhooks",
            OutboxCollector(scraped.counts),
            LagCollector(lambda: log_head(conninfo)),
        )
        asyncio.run(_until_signalled(service))
    finally:
        scraped.close()
        service.close()
        close_customer_ledger(customers)
        ledger.close()
    print(
        f"glow: webhooks stopped: {service.dispatcher.delivered} delivered, "
        f"{service.feed.published} feed publications",
        file=sys.stderr,
    )
    return 0


async def _until_signalled(service: WebhookService) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await service.run(stop)


@contextmanager
def _desk(settings: Settings) -> Iterator[WebhookDesk]:
    ledger = open_ledger(settings, 1)
    desk = WebhookDesk.from_settings(settings, master_keys(settings), ledger)
    try:
        yield desk
    finally:
        desk.close()
        ledger.close()


def _dead_letters(settings: Settings, args: argparse.Namespace) -> int:
    if not _require_postgres(settings):
        return 2
    with _desk(settings) as desk:
        found = desk.dead_letters(args.subscription, args.limit)
    if not found:
        print("glow: no dead-lettered webhook deliveries")
    for letter in found:
        print(
            f"{letter['message_id']} {letter['subscription_id']} {letter['event_type']} "
            f"attempts={letter['attempts']}: {letter['last_error']}"
        )
    return 0


def _replay(settings: Settings, args: argparse.Namespace) -> int:
    if not _require_postgres(settings):
        return 2
    with _desk(settings) as desk:
        replayed = desk.replay(args.subscription, args.messages)
    print(f"glow: {replayed} dead-lettered deliver{'y' if replayed == 1 else 'ies'} queued again")
    return 0 if replayed else 1


def _subscriptions(settings: Settings, args: argparse.Namespace) -> int:
    if not _require_postgres(settings):
        return 2
    with _desk(settings) as desk:
        for found in desk.listed():
            channels = ",".join(found["channels"] or ["*"])
            print(
                f"{found['subscription_id']} {found['url']} "
                f"{','.join(found['event_types'])} channels={channels}"
            )
    return 0
