"""`glow chain`, `glow verify` and `glow checkpoint`: the tamper-evident hash chain (PostgreSQL)."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import psycopg

from audit.chain_follower import extend_chain, unchained_rows
from audit.chain_verification import Verification, verify_chain
from audit.checkpoints import (
    SIGNING_KEY_VARIABLE,
    Checkpoint,
    CheckpointError,
    recorded_checkpoints,
    signing_key,
    take_checkpoint,
)
from audit.verification_records import record_verification
from cli.audit_commands import print_json
from cli.progress import progress_bar
from configuration.settings import Settings, ensure_parent, postgres_conninfo
from service_layer.backups import check_log_against_manifest, expected_checkpoint
from service_layer.bootstrap import require_schema

SQLITE_NOTICE = (
    "the hash chain is kept only with the PostgreSQL store: the embedded SQLite store is one "
    "local file, and whoever can edit it can rewrite a chain kept beside it; audit on PostgreSQL"
)
UNSIGNED_NOTICE = f"{SIGNING_KEY_VARIABLE} is not set: checkpoints are NOT signed"


def add_parsers(commands: Any) -> None:
    chain = commands.add_parser("chain", help="extend the hash chain over new events")
    chain.add_argument("--follow", action="store_true", help="keep following the log")
    chain.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
    chain.add_argument(
        "--checkpoint-every",
        type=float,
        default=0,
        help="with --follow: seconds between checkpoints",
    )
    chain.set_defaults(run=_chain)
    verify = commands.add_parser("verify", help="recompute the chain; name the first discrepancy")
    verify.add_argument(
        "--checkpoint",
        type=Path,
        help="a backup's manifest (or a checkpoint JSON): the log must reach its head with its "
        "link, and hold every event the backup held",
    )
    verify.set_defaults(run=_verify)
    checkpoint = commands.add_parser("checkpoint", help="chain, then checkpoint the head (signed)")
    checkpoint.add_argument("--export", type=Path, help="write every checkpoint as JSON here")
    checkpoint.set_defaults(run=_checkpoint)


def _conninfo(settings: Settings) -> str | None:
    if not settings.is_postgres():
        print(f"glow: {SQLITE_NOTICE}", file=sys.stderr)
        return None
    require_schema(settings)
    return postgres_conninfo(settings.event_store_url)


def _chain(settings: Settings, args: argparse.Namespace) -> int:
    conninfo = _conninfo(settings)
    if conninfo is None:
        return 2
    last_checkpoint = time.monotonic()
    while True:
        chained = _extend(conninfo)
        if not args.follow:
            print(f"glow: chained {chained} event(s)")
            return 0
        if args.checkpoint_every and time.monotonic() - last_checkpoint >= args.checkpoint_every:
            _record_checkpoint(conninfo)
            last_checkpoint = time.monotonic()
        time.sleep(args.interval)


def _extend(conninfo: str) -> int:
    with progress_bar("chaining events", unchained_rows(conninfo)) as advance:
        return extend_chain(conninfo, advance)


def _verify(settings: Settings, args: argparse.Namespace) -> int:
    conninfo = _conninfo(settings)
    if conninfo is None:
        return 2
    key = signing_key()
    if key is None:
        print(f"glow: {UNSIGNED_NOTICE}; signatures are not checked", file=sys.stderr)
    expected, manifest = _expected(args.checkpoint)
    with progress_bar("verifying chain", None) as advance:
        report = verify_chain(conninfo, key, advance, expected)
    missing = [] if manifest is None else check_log_against_manifest(conninfo, manifest)
    print_json(report.as_dict() | ({"backup_log": missing or "complete"} if manifest else {}))
    _record(conninfo, report)
    if report.discrepancy is not None:
        found = report.discrepancy
        print(f"glow: TAMPERED at position {found.position}: {found.problem}", file=sys.stderr)
        return 1
    if missing:
        print(f"glow: the log does not match the backup: {'; '.join(missing)}", file=sys.stderr)
        return 1
    if expected is not None:
        print(f"glow: the log matches the checkpoint at position {expected.head}", file=sys.stderr)
    unchained = report.log_head - report.chain_head
    print(f"glow: chain intact over {report.rows_checked} event(s)", file=sys.stderr)
    if unchained > 0:
        print(f"glow: positions after {report.chain_head} are not chained yet: run glow chain")
    return 0


def _record(conninfo: str, report: Verification) -> None:
    """For the metrics and alerts (glow_chain_verification_failures_total); a store that
    refuses the record (a read-only role) leaves the verdict above standing."""
    try:
        record_verification(conninfo, report)
    except psycopg.Error as error:
        print(f"glow: the verification was not recorded for the metrics: {error}", file=sys.stderr)


def _expected(path: Path | None) -> tuple[Checkpoint | None, dict[str, Any] | None]:
    """The checkpoint to verify against, and the backup manifest it came from, if any."""
    if path is None:
        return None, None
    try:
        found = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as error:
        raise CheckpointError(f"cannot read the checkpoint file {path}: {error}") from None
    manifest = found if isinstance(found, dict) and "checkpoint" in found else None
    return expected_checkpoint(found), manifest


def _checkpoint(settings: Settings, args: argparse.Namespace) -> int:
    conninfo = _conninfo(settings)
    if conninfo is None:
        return 2
    if args.export:
        ensure_parent(args.export, "glow checkpoint --export")
    _extend(conninfo)
    print_json(_record_checkpoint(conninfo))
    if args.export:
        everything = [c.as_dict() for c in recorded_checkpoints(conninfo)]
        args.export.write_bytes(orjson.dumps(everything, option=orjson.OPT_INDENT_2))
        print(f"glow: wrote {len(everything)} checkpoint(s) to {args.export}", file=sys.stderr)
    return 0


def _record_checkpoint(conninfo: str) -> dict[str, Any]:
    key = signing_key()
    if key is None:
        print(f"glow: {UNSIGNED_NOTICE}", file=sys.stderr)
    return take_checkpoint(conninfo, key, datetime.now(tz=UTC)).as_dict()
