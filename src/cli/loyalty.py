"""`glow loyalty run|expire|refusals`: the loyalty follower as a process of its own (with a
broker, or when `glow serve` runs it in no thread), the expiry of points on demand, and the
events whose points the customer ledger refused (forgotten or unknown customers)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

from configuration.settings import Settings
from service_layer.bootstrap import open_ledger
from service_layer.customer_desk import CustomerDesk
from service_layer.customer_store import close_customer_ledger, open_customer_ledger
from service_layer.loyalty_follower import LoyaltyService


def add_parsers(commands: Any) -> None:
    loyalty = commands.add_parser("loyalty", help="loyalty points: follow orders, expire")
    actions = loyalty.add_subparsers(dest="action", required=True)
    actions.add_parser(
        "run", help="earn and lose points from the log, expire daily, until SIGINT/SIGTERM"
    ).set_defaults(run=_run)
    expire = actions.add_parser("expire", help="expire the points past their last day, once")
    expire.add_argument(
        "--on",
        type=date.fromisoformat,
        help="the day to expire as of (YYYY-MM-DD; default today, UTC): lots whose last day "
        "is before it lose what they have left",
    )
    expire.set_defaults(run=_expire)
    refusals = actions.add_parser("refusals", help="events whose points were refused")
    refusals.add_argument("--limit", type=int, default=100)
    refusals.set_defaults(run=_refusals)


def _require_postgres(settings: Settings) -> bool:
    if not settings.is_postgres():
        print("glow: loyalty points follow the log on a PostgreSQL event store only")
        return False
    return True


@contextmanager
def _service(settings: Settings) -> Iterator[LoyaltyService]:
    ledger = open_ledger(settings, connections=2)  # one thread follows the logs
    customers = open_customer_ledger(settings, connections=2)
    desk = CustomerDesk(customers)
    service = LoyaltyService.build(settings, ledger, desk)
    try:
        yield service
    finally:
        service.stop(0)
        desk.close()
        close_customer_ledger(customers)
        ledger.close()


def _run(settings: Settings, args: argparse.Namespace) -> int:
    if not _require_postgres(settings):
        return 2
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with _service(settings) as service:
        service.run(stop)
    follower = service.follower
    print(
        f"glow: loyalty stopped: {follower.sent} command(s) sent, {follower.refused} refused",
        file=sys.stderr,
    )
    return 0


def _expire(settings: Settings, args: argparse.Namespace) -> int:
    if not _require_postgres(settings):
        return 2
    on = args.on or datetime.now(tz=UTC).date()
    with _service(settings) as service:
        expired = service.follower.expire(on)
    print(f"glow: {expired} point(s) expired as of {on.isoformat()}")
    return 0


def _refusals(settings: Settings, args: argparse.Namespace) -> int:
    if not _require_postgres(settings):
        return 2
    with _service(settings) as service:
        found = service.follower.rows.refusals(args.limit)
    if not found:
        print("glow: no refused loyalty events")
    for row in found:
        print(f"{row['position']} {row['event_id']} {row['event_type']} {row['code']}")
    return 0
