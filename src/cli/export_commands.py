"""`glow export` (JSON Lines, resumable) and `glow replay` (rebuild from a file, compare)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import IO, Any

from audit.aggregate_keys import KINDS, aggregate_id
from audit.export import Selection, export_lines, resume_point
from audit.export_file import last_complete_line
from audit.replay_check import compare_with_store
from audit.time_travel import parse_instant
from cli.audit_commands import print_json
from cli.progress import progress_bar
from configuration.settings import Settings, ensure_parent
from domain.ledger import InventoryLedger
from service_layer.bootstrap import open_ledger


def add_parsers(commands: Any) -> None:
    export = commands.add_parser("export", help="stream the log as JSON Lines (resumable)")
    export.add_argument("file", help="output file, or - for standard output")
    export.add_argument("--kind", choices=sorted(KINDS), help="with --key: one aggregate only")
    export.add_argument("--key", help="the aggregate's key (stock: SKU@LOCATION)")
    export.add_argument("--since", help="recorded at or after this ISO 8601 instant")
    export.add_argument("--until", help="recorded before this ISO 8601 instant")
    export.add_argument("--after", type=int, default=0, help="start after this position/version")
    export.add_argument(
        "--resume", action="store_true", help="continue an interrupted export into the same file"
    )
    export.set_defaults(run=_export)
    replay = commands.add_parser("replay", help="rebuild aggregates from an export; compare")
    replay.add_argument("file", type=Path)
    replay.set_defaults(run=_replay)


def _selection(args: argparse.Namespace, after: int) -> Selection:
    if (args.kind is None) != (args.key is None):
        raise SystemExit("glow: --kind and --key go together")
    return Selection(
        after=after,
        aggregate_id=aggregate_id(args.kind, args.key) if args.kind else None,
        since=parse_instant(args.since) if args.since else None,
        until=parse_instant(args.until) if args.until else None,
    )


def _export(settings: Settings, args: argparse.Namespace) -> int:
    after, mode = args.after, "wb"
    path = Path(args.file) if args.file == "-" else ensure_parent(args.file, "glow export FILE")
    if args.resume and args.file != "-" and path.exists():
        last = last_complete_line(path)
        after, mode = (resume_point(last) if last else args.after), "ab"
        print(f"glow: resuming after {after}", file=sys.stderr)
    selection = _selection(args, after)
    ledger = open_ledger(settings)
    try:
        if args.file == "-":
            written = _write(ledger, selection, sys.stdout.buffer)
        else:
            with path.open(mode) as out:
                written = _write(ledger, selection, out)
    finally:
        ledger.close()
    print(f"glow: exported {written} event(s)", file=sys.stderr)
    return 0


def _write(ledger: InventoryLedger, selection: Selection, out: IO[bytes]) -> int:
    total = None
    if selection.aggregate_id is None:
        total = max(0, (ledger.recorder.max_notification_id() or 0) - selection.after)
    written = 0
    with progress_bar("exporting events", total) as advance:
        for line in export_lines(ledger, selection, advance):
            out.write(line)
            written += 1
    return written


def _replay(settings: Settings, args: argparse.Namespace) -> int:
    ledger = open_ledger(settings)
    try:
        with (
            args.file.open("rb") as lines,
            progress_bar("replaying export (bytes)", args.file.stat().st_size) as advance,
        ):
            result = compare_with_store(ledger, lines, advance)
    finally:
        ledger.close()
    print_json(result.as_dict())
    return 0 if result.agrees else 1
