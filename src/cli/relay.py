"""`glow relay`: runs the relay until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys

from cli.lag import dead_letters, log_head
from cli.metrics_port import serve_metrics
from configuration.settings import Settings, postgres_conninfo
from service_layer.bootstrap import open_ledger
from streams.log_reader import LogReader
from streams.positions import RELAY
from streams.relay import Relay, RelayConfig
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
    relay = Relay(LogReader(ledger), config)
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
        asyncio.run(_until_signalled(relay))
    finally:
        relay.close()
        ledger.close()
        tracing.stop()
    print(f"glow: relay stopped after publishing {relay.published} events", file=sys.stderr)
    return 0


async def _until_signalled(relay: Relay) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await relay.run(stop)
