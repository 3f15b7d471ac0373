"""`glow backup` and `glow restore` (PostgreSQL): the backup drill. `glow verify --checkpoint
<manifest>` (cli/chain_commands.py) proves a restored log matches the backup's checkpoint."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from audit.checkpoints import signing_key
from cli.audit_commands import print_json
from configuration.settings import Settings, postgres_conninfo
from service_layer.bootstrap import require_schema

POSTGRES_ONLY = (
    "backups are made of the PostgreSQL store: the embedded SQLite store is a development "
    "ledger (copy its files while glow serve is stopped)"
)


def add_parsers(commands: Any) -> None:
    backup = commands.add_parser(
        "backup",
        help="dump the stores (custom format, without the key store) and write the chain "
        "checkpoint beside it as a manifest",
    )
    backup.add_argument(
        "destination",
        type=Path,
        help="the dump's file (its manifest is FILE.manifest.json), or a folder for "
        "glow-<time>.dump",
    )
    backup.set_defaults(run=_backup)
    restore = commands.add_parser(
        "restore", help="restore a backup into an empty database, keys from the live key store"
    )
    restore.add_argument("backup", type=Path, help="the dump or its manifest")
    restore.add_argument("--into", required=True, help="URL of an empty PostgreSQL database")
    keys = restore.add_mutually_exclusive_group()
    keys.add_argument(
        "--keys-from",
        help="URL of the live key store to take customers' keys from (default: --store, "
        "else $GLOW_EVENT_STORE_URL)",
    )
    keys.add_argument(
        "--no-keys",
        action="store_true",
        help="restore without any key: every customer's personal data reads as erased",
    )
    restore.set_defaults(run=_restore)


def _backup(settings: Settings, args: argparse.Namespace) -> int:
    from service_layer.backups import make_backup

    if not settings.is_postgres():
        print(f"glow: {POSTGRES_ONLY}", file=sys.stderr)
        return 2
    require_schema(settings)
    destination: Path = args.destination
    if not destination.is_dir() and not destination.parent.is_dir():
        folder = destination.parent
        print(f"glow: the folder {folder} does not exist; make it first", file=sys.stderr)
        return 2
    key = signing_key()
    manifest = _guarded(lambda: make_backup(_url(settings), destination, key, _now()))
    if manifest is None:
        return 1
    print_json(manifest)
    checkpoint = manifest["checkpoint"]
    print(
        f"glow: backup {manifest['dump']['file']} ({manifest['dump']['bytes']} bytes) with its "
        f"manifest; chain checkpoint at position {checkpoint['head']}"
        + ("" if checkpoint["signature"] else " (unsigned: GLOW_AUDIT_SIGNING_KEY is not set)")
        + "; the key store is not in it",
        file=sys.stderr,
    )
    return 0


def _restore(settings: Settings, args: argparse.Namespace) -> int:
    from service_layer.backups import restore_backup

    keys_from = None if args.no_keys else (args.keys_from or settings.event_store_url)
    if keys_from is not None and not keys_from.startswith(("postgresql://", "postgres://")):
        print(
            f"glow: the key store must be a PostgreSQL URL (got {keys_from.split(':')[0]}:...); "
            "name it with --keys-from, or restore with --no-keys",
            file=sys.stderr,
        )
        return 2
    into = postgres_conninfo(args.into)
    source = None if keys_from is None else postgres_conninfo(keys_from)
    restored = _guarded(lambda: restore_backup(args.backup, into, source))
    if restored is None:
        return 1
    print_json(
        {
            "restored_into": restored.target,
            "events": restored.events,
            "keys_copied": restored.keys_copied,
            "customers_without_key": restored.customers_without_key,
        }
    )
    print(
        f"glow: restored into {restored.target}; {restored.customers_without_key} customer(s) "
        "of the restored log have no key in the key store (forgotten, before or after the "
        "backup): their personal data stays unreadable. Prove the log: glow --store <that "
        f"URL> verify --checkpoint {args.backup}",
        file=sys.stderr,
    )
    return 0


def _guarded(action: Any) -> Any:
    from service_layer.backups import BackupError
    from storage.pg_tools import PgToolError

    try:
        return action()
    except (BackupError, PgToolError) as error:
        print(f"glow: {error}", file=sys.stderr)
        return None


def _url(settings: Settings) -> str:
    return postgres_conninfo(settings.event_store_url)


def _now() -> datetime:
    return datetime.now(tz=UTC)
