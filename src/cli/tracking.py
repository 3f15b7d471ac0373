"""`glow tracking violations [--json] [--since DAY]`: the tracking plan's violations counted
per event, kind, property and outcome, and the identity stitches refused (the same answer as
`GET /tracking/violations`), read from ClickHouse at GLOW_ANALYTICS_URL (a chDB path only
while no other process holds it)."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from typing import Any

from cli.audit_commands import print_json
from configuration.settings import Settings


def add_parsers(commands: Any) -> None:
    tracking = commands.add_parser("tracking", help="behaviour tracking: the tracking plan")
    actions = tracking.add_subparsers(dest="action", required=True)
    report = actions.add_parser("violations", help="events that broke the tracking plan")
    report.add_argument("--json", action="store_true", help="one JSON document")
    report.add_argument("--since", type=date.fromisoformat, help="from this day (YYYY-MM-DD)")
    report.set_defaults(run=_violations)


def _violations(settings: Settings, args: argparse.Namespace) -> int:
    from projections.behaviour_queries import stitch_refusals, tracking_violations
    from service_layer.read_side import open_analytics

    if settings.analytics_url is None:
        print(
            "glow: GLOW_ANALYTICS_URL is empty: the violations are kept in ClickHouse",
            file=sys.stderr,
        )
        return 2
    facts = open_analytics(settings.analytics_url)
    try:
        found = tracking_violations(facts.client, args.since)
        refused = stitch_refusals(facts.client, args.since)
    finally:
        facts.close()
    if args.json:
        print_json({"violations": found, "stitches_refused": refused})
        return 0
    print(f"{'event':<28} {'kind':<20} {'property':<20} {'outcome':<8} {'events':>8}")
    for row in found:
        print(
            f"{row['event']:<28} {row['kind']:<20} {row['property'] or '-':<20} "
            f"{row['outcome']:<8} {row['events']:>8}"
        )
    if not found:
        print("no violations")
    for reason, count in refused.items():
        print(f"stitches refused ({reason}): {count}")
    return 0
