"""`glow writer`: the store's one command writer as a process of its own, serving every
`glow serve` that has GLOW_WRITER_URL over TCP (service_layer/shared_writer.py). Leads while
it holds the store's writer lock, else stands by; probes and metrics on GLOW_METRICS_PORT
(cli/health_port.py). Stops on SIGTERM or SIGINT after answering what it has read."""

from __future__ import annotations

import argparse
import signal
import sys
from types import FrameType

from prometheus_client import REGISTRY

from cli.health_port import serve_health
from configuration.settings import Settings
from service_layer.bootstrap import require_schema
from service_layer.shared_writer import SharedWriter, SharedWriterCollector
from service_layer.writer_metrics import INVENTORY, WriterCollector


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    writer = commands.add_parser(
        "writer",
        help="the store's command writer for many `glow serve` (GLOW_WRITER_LISTEN, "
        "GLOW_WRITER_SECRET; probes and metrics on GLOW_METRICS_PORT)",
    )
    writer.set_defaults(run=run_writer)


def run_writer(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.is_postgres():
        print(
            "glow: `glow writer` serves a PostgreSQL event store (GLOW_EVENT_STORE_URL="
            "postgresql://...); on SQLite the writer is `glow serve`'s own",
            file=sys.stderr,
        )
        return 2
    require_schema(settings)
    shared = SharedWriter(settings)  # checks the secret and the address first
    REGISTRY.register(WriterCollector(lambda: {INVENTORY: shared.figures()}))
    REGISTRY.register(SharedWriterCollector(shared))
    health = serve_health(settings, "writer", shared.not_ready)

    def stop(signum: int, frame: FrameType | None) -> None:
        shared.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        code = shared.run()
    finally:
        health.shutdown()
    print("glow: the writer stopped", file=sys.stderr)
    return code
