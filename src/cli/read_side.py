"""The read side's `glow` subcommands: contracts, rebuild, relay, worker, lag."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from configuration.settings import Settings

COMMANDS = ("contracts", "rebuild", "relay", "worker", "lag")


def register(commands: Any) -> None:
    contracts = commands.add_parser(
        "contracts", help="check the published events' JSON Schemas against the committed ones"
    )
    contracts.add_argument(
        "--write", action="store_true", help="commit new or compatibly changed contracts"
    )

    rebuild = commands.add_parser(
        "rebuild", help="replay the whole log into a fresh read model, then swap it in"
    )
    rebuild.add_argument("model", choices=("hot-views", "facts"))
    rebuild.add_argument("--quiet", action="store_true", help="no progress bar")

    relay = commands.add_parser(
        "relay", help="publish the event log to Kafka (GLOW_BROKER_URL), at least once"
    )
    relay.add_argument(
        "--from",
        dest="start",
        type=int,
        default=None,
        help="re-publish every event after this log position, then follow the log",
    )
    relay.add_argument("--partitions", type=int, default=4, help="partitions of new topics")

    worker = commands.add_parser(
        "worker", help="run the Faust worker that projects the topics into the read models"
    )
    worker.add_argument("--web-port", type=int, default=6066, help="a port of its own per worker")
    worker.add_argument(
        "--data-dir", default="var/faust", help="Faust's local state folder (made if missing)"
    )

    commands.add_parser("lag", help="positions and lag of the relay, the workers and the stores")


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "rebuild":
        return _rebuild(settings, args.model, show=not args.quiet)
    if args.command == "relay":
        from cli.relay import run_relay

        return run_relay(settings, args.start, args.partitions)
    if args.command == "worker":
        from service_layer.worker_readiness import refuse_unready_worker

        refuse_unready_worker(settings, args.data_dir)
        from cli.worker import run_worker

        return run_worker(settings, args.web_port, args.data_dir)
    if args.command == "lag":
        from cli.lag import print_lag

        return print_lag(settings)
    return _contracts(write=args.write)


def migrate_analytics(settings: Settings) -> None:
    """Apply migrations/clickhouse to the analytics database, when one is configured."""
    from projections.clickhouse_facts import apply_migrations
    from service_layer.read_side import reach_analytics

    if settings.analytics_url is None:
        return
    facts = reach_analytics(settings.analytics_url)
    try:
        applied = apply_migrations(facts.client)
    finally:
        facts.close()
    print(
        f"glow: applied {len(applied)} ClickHouse migration(s)"
        + (f": {', '.join(applied)}" if applied else "; schema up to date")
    )


def _rebuild(settings: Settings, model: str, *, show: bool) -> int:
    from cli.metrics_port import serve_metrics
    from configuration.settings import eventsourcing_env
    from domain.ledger import InventoryLedger
    from projections.redis_views import RedisHotViews
    from service_layer.customer_store import open_customer_log
    from service_layer.read_side import open_analytics, open_dead_letters, open_hot_views
    from streams.log_reader import LogReader
    from streams.rebuild import rebuild_facts, rebuild_hot_views

    ledger = InventoryLedger(env=eventsourcing_env(settings.event_store_url))
    reader = LogReader(ledger)
    letters = open_dead_letters(settings)
    serve_metrics(settings, "rebuild")  # glow_rebuild_position against _target_position
    try:
        if model == "hot-views":
            url = settings.hot_views_url
            if url is None or not url.startswith(("redis://", "rediss://", "unix://")):
                print(
                    "glow: rebuild hot-views needs GLOW_HOT_VIEWS_URL=redis://...; the "
                    "in-process store is rebuilt at every start",
                    file=sys.stderr,
                )
                return 2
            views = open_hot_views(url)
            assert isinstance(views, RedisHotViews)
            customer_log = open_customer_log(settings, connections=1)
            try:
                done = rebuild_hot_views(
                    reader,
                    views,
                    show=show,
                    letters=letters,
                    customers=LogReader(customer_log),
                )
            finally:
                customer_log.close()
        else:
            if settings.analytics_url is None:
                print("glow: rebuild facts needs GLOW_ANALYTICS_URL", file=sys.stderr)
                return 2
            facts = open_analytics(settings.analytics_url)
            try:
                done = rebuild_facts(reader, facts, show=show, letters=letters)
            finally:
                facts.close()
    finally:
        letters.close()
        ledger.close()
    rate = done.events / done.seconds if done.seconds else 0.0
    print(
        f"glow: rebuilt {done.model} from {done.events} events up to position {done.position} "
        f"in {done.seconds:.2f} s ({rate:,.0f} events/s)"
    )
    return 0


def _contracts(*, write: bool) -> int:
    from events.contracts import (
        committed_contracts,
        current_contracts,
        incompatibilities,
        write_contracts,
    )

    problems = incompatibilities(committed_contracts(), current_contracts())
    for problem in problems:
        print(f"glow: incompatible: {problem}", file=sys.stderr)
    if problems:
        return 1
    if write:
        written = write_contracts()
        print(
            f"glow: wrote {len(written)} contract(s)"
            + (f": {', '.join(written)}" if written else "")
        )
        return 0
    committed = committed_contracts()
    stale = [name for name, schema in current_contracts().items() if committed.get(name) != schema]
    if stale:
        print(f"glow: compatible but not committed: {', '.join(stale)}; run glow contracts --write")
        return 1
    print("glow: every published event matches its committed contract")
    return 0
