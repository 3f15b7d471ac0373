"""`glow retention apply [--dry-run] [--json]`: the retention schedule, applied or reported."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

from cli.audit_commands import print_json
from configuration.settings import Settings
from service_layer.bootstrap import require_schema


def add_parsers(commands: Any) -> None:
    retention = commands.add_parser(
        "retention", help="remove data kept for a while once its retention has passed"
    )
    actions = retention.add_subparsers(dest="retention_action", required=True)
    apply = actions.add_parser(
        "apply",
        help="per kind: its policy, the cutoff, what is older; removed unless --dry-run "
        "(the event log is never touched)",
    )
    apply.add_argument("--dry-run", action="store_true", help="count only, remove nothing")
    apply.add_argument("--json", action="store_true", help="print the report as JSON")
    apply.add_argument(
        "--batch-size",
        type=_positive,
        default=5_000,
        help="rows deleted per transaction (default 5000), so no table is locked for long",
    )
    apply.set_defaults(run=_apply)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        expected = "expected a whole number of rows, 1 or more"
        raise argparse.ArgumentTypeError(f"{expected}; got {text!r}")
    return value


def _apply(settings: Settings, args: argparse.Namespace) -> int:
    from service_layer.retention import apply_retention

    if settings.is_postgres():
        require_schema(settings)
    report = apply_retention(
        settings, datetime.now(tz=UTC), dry_run=args.dry_run, batch=args.batch_size
    )
    if args.json:
        print_json(report.as_dict())
        return 0
    verb = "would remove" if report.dry_run else "removed"
    print(f"retention {'dry run' if report.dry_run else 'applied'} at {report.at.isoformat()}")
    print(f"{'kind':<22} {'policy':>7}  {'cutoff':<25} {'older':>8} {'removed':>8}  where")
    for kind in report.kinds:
        row = kind.as_dict()
        shown_removed = "-" if report.dry_run else str(kind.removed)
        print(
            f"{kind.kind:<22} {row['policy']:>7}  {row['cutoff'][:25]:<25} {kind.found:>8} "
            f"{shown_removed:>8}  {kind.store}" + (f"  ({kind.note})" if kind.note else "")
        )
    total = sum(k.found if report.dry_run else k.removed for k in report.kinds)
    print(f"glow: {verb} {total} item(s); the event log is untouched", file=sys.stderr)
    return 0
