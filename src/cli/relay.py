"""`glow relay`: runs the relay until SIGINT or SIGTERM: the inventory log's, and beside it the
customer log's (to the `customer` topic, with its own position `relay:customer`)."""

from __future__ import annotations

import asyncio
import signal
import sys

from cli.lag import dead_letters, log_head
from cli.metrics_port import serve_metrics
from configuration.settings import Settings, postgres_conninfo
from service_layer.bootstrap import open_ledger
from service_layer.customer_store import open_customer_log
from streams.log_reader import LogReader
from streams.positions import RELAY, RELAY_CUSTOMERS
from streams.relay import CUSTOMER_CHANNEL, Relay, RelayConfig
from streams.stream_metrics import POSITIONS, LagCollector
from telemetry import tracing


def run_relay(settings: Settings, start: int | None, partitions: int) -> int:
    if not settings.is_postgres():
        print("glow: the relay follows a PostgreSQL event store (--store postgresql://...)")
        return 2
    config = RelayConfig(
        bootstrap_servers=settings.bootstrap_servers(),
        conninfo=postgres_conninfo(settings.event_store_url),
        partitions=partitions,
        topic_prefix=settings.topic_prefix,
    )
    tracing.start(settings, tracing.RELAY)
    ledger = open_ledger(settings)
    customer_log = open_customer_log(settings, connections=2)
    relay = Relay(LogReader(ledger), config)
    customers = Relay(LogReader(customer_log), config, RELAY_CUSTOMERS, CUSTOMER_CHANNEL)
    try:
        conninfo = config.conninfo
        POSITIONS.record(RELAY, start if start is not None else relay.positions.get(RELAY))
        serve_metrics(
            settings,
            "relay",
            LagCollector(lambda: log_head(conninfo), dead_letters=lambda: dead_letters(conninfo)),
        )
        if start is not None:
            relay.rewind(start)
            print(f"glow: the relay re-publishes every event after position {start}", flush=True)
        asyncio.run(_until_signalled(relay, customers))
    finally:
        relay.close()
        customers.close()
        ledger.close()
        customer_log.close()
        tracing.stop()
    published = relay.published + customers.published
    print(f"glow: relay stopped after publishing {published} events", file=sys.stderr)
    return 0


async def _until_signalled(*relays: Relay) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await asyncio.gather(*(relay.run(stop) for relay in relays))
