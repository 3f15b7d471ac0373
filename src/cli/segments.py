"""`glow segments`: keep the customer dimension current (`refresh`, for the cluster or cron:
embedded, `glow serve` does it), and read segments from the terminal as the API answers
them (`rfm`, `cohorts`, `churn`, `audiences`, `audience NAME`). Opens GLOW_ANALYTICS_URL: a
ClickHouse server, or a chDB path no other process holds."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

from cli.repeating import repeat
from configuration.settings import Settings, SettingsError, postgres_conninfo
from service_layer.bootstrap import require_schema
from service_layer.customer_desk import CustomerDesk
from service_layer.customer_store import close_customer_ledger, open_customer_ledger

READS = ("rfm", "cohorts", "churn", "audiences", "audience")


def add_parsers(commands: Any) -> None:
    segments = commands.add_parser(
        "segments", help="customer segments: refresh the dimension, RFM, cohorts, audiences"
    )
    actions = segments.add_subparsers(dest="action", required=True)
    refresh = actions.add_parser(
        "refresh", help="read the customer log into the customer dimension (idempotent)"
    )
    refresh.add_argument(
        "--every",
        type=float,
        default=None,
        metavar="SECONDS",
        help="keep refreshing, this many seconds apart, until SIGTERM (a cluster's process)",
    )
    refresh.set_defaults(run=_refresh)
    for name in READS:
        read = actions.add_parser(name, help=f"print {name} as JSON")
        if name == "audience":
            read.add_argument("name", help="the audience's name")
        read.add_argument("--as-of", help="an ISO 8601 instant with a timezone (default now)")
        read.set_defaults(run=_read)


def _analytics_url(settings: Settings) -> str:
    if not settings.analytics_url:
        raise SettingsError("GLOW_ANALYTICS_URL is empty: segments live in ClickHouse")
    return settings.analytics_url


def _refresh(settings: Settings, args: argparse.Namespace) -> int:
    from projections.customer_dimension import CustomerDimension
    from service_layer.read_side import open_analytics
    from service_layer.segment_follower import DimensionFollower

    every = getattr(args, "every", None)
    if every is not None and not 0.1 <= every <= 86_400:
        print(f"glow: --every {every} is out of range; expected 0.1 to 86400 seconds")
        return 2
    require_schema(settings)
    facts = open_analytics(_analytics_url(settings))
    customers = open_customer_ledger(settings, connections=2)  # the refresh reads in one thread
    try:
        follower = DimensionFollower(customers, CustomerDimension(facts.client))

        def refresh() -> None:
            read = follower.catch_up()
            print(f"glow: customer dimension refreshed ({read} customer event(s) read)")

        repeat(every, refresh)
    finally:
        close_customer_ledger(customers)
        facts.close()
    return 0


def _read(settings: Settings, args: argparse.Namespace) -> int:
    from projections.segments import AsOf
    from service_layer.read_side import open_analytics
    from service_layer.segment_desk import SegmentDesk, UnknownAudienceError
    from storage.audience_book import AudienceBook

    try:
        moment = datetime.fromisoformat(args.as_of) if args.as_of else datetime.now(tz=UTC)
    except ValueError:
        print(f"glow: --as-of {args.as_of!r} is not an ISO 8601 instant", file=sys.stderr)
        return 2
    if moment.tzinfo is None or moment > datetime.now(tz=UTC):
        print("glow: --as-of needs a timezone and may not be in the future", file=sys.stderr)
        return 2
    require_schema(settings)
    facts = open_analytics(_analytics_url(settings))
    customers = open_customer_ledger(settings)
    book = (
        AudienceBook(postgres_conninfo(settings.event_store_url))
        if settings.is_postgres()
        else None
    )
    desk = SegmentDesk(facts.client, CustomerDesk(customers), book)
    as_of = AsOf(moment)
    try:
        answer: Any
        if args.action == "rfm":
            answer = desk.rfm(as_of)
        elif args.action == "cohorts":
            answer = desk.cohorts(as_of)
        elif args.action == "churn":
            answer = desk.churn(as_of)
        elif args.action == "audiences":
            answer = [audience.as_dict() for audience in desk.audiences()]
        else:
            found = desk.compute(args.name, as_of, "glow segments")
            answer = {"audience": found.audience.as_dict(), **found.computation.as_dict()}
    except UnknownAudienceError as error:
        print(f"glow: {error.args[0]}", file=sys.stderr)
        return 1
    finally:
        if book is not None:
            book.close()
        close_customer_ledger(customers)
        facts.close()
    sys.stdout.write(orjson.dumps(answer, default=str, option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0
