"""Backups you can restore and verify (PostgreSQL).

A backup is two files: the database in pg_dump's custom format (the inventory and customer
stores, which share one database, with everything the ledger keeps beside them) and a manifest
beside it (`<dump>.manifest.json`): a checkpoint of the audit chain taken just before the dump,
each event log's head and row count in the dump's own snapshot, the versions, the dump's
SHA-256. `restore` refuses a dump that does not match its manifest and a target that is not
empty; `glow verify --checkpoint <manifest>` then re-walks the restored chain to the
checkpoint's head and compares its link.

The key store is never in a backup: the rows of `customer_keys` (each customer's data key,
wrapped by the master key, and the ledger's own secret) are left out of every dump, and a
restore takes the keys from the live key store. A customer forgotten after the backup has no
key there any more, so their personal data stays unreadable in the restored ledger, though its
log is older than their `Customer.Forgotten`. The key store is kept by its own means, with its
own retention (README, "the key store's own retention").
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from psycopg.conninfo import conninfo_to_dict

from audit.chain_follower import extend_chain
from audit.checkpoints import Checkpoint, take_checkpoint
from configuration.settings import without_password
from privacy.vault import LEDGER_SECRET_ID
from storage import pg_tools

FORMAT = "glowledger-backup/1"
MANIFEST_SUFFIX = ".manifest.json"
KEY_STORE_TABLE = "public.customer_keys"
EVENT_TABLES = ("inventory_events", "customers_events")
KEY_STORE_NOTE = (
    "not included: the rows of customer_keys are left out of every backup; glow restore takes "
    "the keys from the live key store, so a key deleted after the backup stays deleted"
)
HASH_CHUNK = 1 << 20


class BackupError(RuntimeError):
    """A backup cannot be made, read, trusted or restored; the message says why and what to do."""


@dataclass(frozen=True)
class Restored:
    target: str
    events: dict[str, int]
    keys_copied: int
    customers_without_key: int


def backup_paths(destination: Path, now: datetime) -> tuple[Path, Path]:
    """(dump, manifest): a folder gets `glow-<UTC time>.dump`; any other path is the dump."""
    dump = (
        destination / f"glow-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}.dump"
        if destination.is_dir()
        else destination
    )
    return dump, dump.with_name(dump.name + MANIFEST_SUFFIX)


def make_backup(url: str, destination: Path, key: bytes | None, now: datetime) -> dict[str, Any]:
    """Chain the log, checkpoint its head, dump the database as of one snapshot (without the
    key store's rows), and write the manifest; returns the manifest."""
    dump_file, manifest_file = backup_paths(destination, now)
    for path in (dump_file, manifest_file):
        if path.exists():
            raise BackupError(f"{path} exists: a backup never overwrites one; name a new file")
    extend_chain(url)
    checkpoint = take_checkpoint(url, key, now)
    with psycopg.connect(url) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.transaction():
            snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()
            assert snapshot is not None
            log = {table: _log_extent(conn, table) for table in EVENT_TABLES}
            migrations = [
                str(row[0])
                for row in conn.execute("SELECT name FROM glow_schema_migrations ORDER BY name")
            ]
            major, server = pg_tools.server_version(conn)
            dumped_with = pg_tools.dump(url, dump_file, major, str(snapshot[0]), [KEY_STORE_TABLE])
    manifest = {
        "format": FORMAT,
        "created_at": now.astimezone(UTC).isoformat(),
        "source": without_password(_display(url)),
        "dump": {
            "file": dump_file.name,
            "format": "pg_dump custom",
            "bytes": dump_file.stat().st_size,
            "sha256": file_sha256(dump_file),
        },
        "checkpoint": checkpoint.as_dict(),
        "log": log,
        "key_store": KEY_STORE_NOTE,
        "versions": {
            "glowledger": _package_version(),
            "postgresql_server": server,
            "pg_dump": dumped_with,
            "migrations": migrations,
        },
    }
    manifest_file.write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def read_manifest(path: Path) -> tuple[Path, dict[str, Any]]:
    """(dump, manifest) from the dump's path or its manifest's."""
    manifest_file = (
        path if path.name.endswith(MANIFEST_SUFFIX) else path.with_name(path.name + MANIFEST_SUFFIX)
    )
    try:
        manifest = json.loads(manifest_file.read_text())
    except FileNotFoundError:
        raise BackupError(
            f"no manifest {manifest_file}: a backup is the dump and its manifest beside it"
        ) from None
    except (OSError, ValueError) as error:
        raise BackupError(f"cannot read the manifest {manifest_file}: {error}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{manifest_file} is not a glowledger backup manifest ({FORMAT})")
    return manifest_file.with_name(str(manifest["dump"]["file"])), manifest


def restore_backup(backup: Path, target_url: str, keys_from: str | None) -> Restored:
    """Check the dump against its manifest, refuse a non-empty target, pg_restore, then give
    the restored ledger the keys the key store at `keys_from` still holds for its customers
    (None: no keys; every customer's personal data then reads as erased)."""
    dump_file, manifest = read_manifest(backup)
    _check_dump(dump_file, manifest)
    with _connect(target_url, "the target database") as conn:
        _require_empty(conn, target_url)
        major, _ = pg_tools.server_version(conn)
    if keys_from is not None:
        _check_key_source(keys_from, target_url)  # before anything is restored
    pg_tools.restore(target_url, dump_file, major)
    copied, without = (0, -1) if keys_from is None else _copy_keys(keys_from, target_url)
    with psycopg.connect(target_url) as conn:
        events = {table: _log_extent(conn, table)["rows"] for table in EVENT_TABLES}
        if without < 0:
            without = len(_customers(conn))
    return Restored(without_password(_display(target_url)), events, copied, without)


def check_log_against_manifest(url: str, manifest: dict[str, Any]) -> list[str]:
    """The event logs' rows up to the heads the manifest recorded must all be there: a
    customer event the chain does not cover, deleted after the restore, is found here."""
    problems = []
    with psycopg.connect(url) as conn:
        for table, recorded in dict(manifest.get("log", {})).items():
            if table not in EVENT_TABLES:
                continue
            row = conn.execute(
                f"SELECT count(*) FROM {table} WHERE notification_id <= %s",  # noqa: S608
                (int(recorded["head"]),),
            ).fetchone()
            found = int(row[0]) if row else 0
            if found != int(recorded["rows"]):
                problems.append(
                    f"{table} holds {found} event(s) up to position {recorded['head']}, the "
                    f"backup held {recorded['rows']}: events were removed or added"
                )
    return problems


def expected_checkpoint(manifest_or_checkpoint: Any) -> Checkpoint:
    """The checkpoint of a backup's manifest, or a checkpoint as `glow checkpoint` writes it."""
    if isinstance(manifest_or_checkpoint, dict) and "checkpoint" in manifest_or_checkpoint:
        return Checkpoint.from_dict(manifest_or_checkpoint["checkpoint"])
    return Checkpoint.from_dict(manifest_or_checkpoint)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _check_dump(dump_file: Path, manifest: dict[str, Any]) -> None:
    if not dump_file.is_file():
        raise BackupError(f"the dump {dump_file} named by the manifest is missing")
    expected = str(manifest["dump"]["sha256"])
    actual = file_sha256(dump_file)
    if actual != expected:
        raise BackupError(
            f"the dump {dump_file} does not match its manifest (sha256 {actual}, the manifest "
            f"says {expected}): it was altered or cut short since the backup; restore refused"
        )


def _require_empty(conn: psycopg.Connection[Any], url: str) -> None:
    found = [
        str(row[0])
        for row in conn.execute(
            "SELECT n.nspname || '.' || c.relname FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') "
            "AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%' "
            "UNION ALL SELECT n.nspname || '.' || p.proname || '()' FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "ORDER BY 1 LIMIT 6"
        )
    ]
    if found:
        shown = ", ".join(found[:5]) + (", ..." if len(found) > 5 else "")
        raise BackupError(
            f"the target database {without_password(_display(url))} is not empty (it holds "
            f"{shown}): a restore goes only into an empty database, so nothing there is "
            "overwritten or mixed with the backup; create a new one (CREATE DATABASE ...)"
        )


def _check_key_source(source_url: str, target_url: str) -> None:
    if _same_database(source_url, target_url):
        raise BackupError(
            "the key store to take the keys from is the target database itself: name the live "
            "store with --keys-from (or restore with --no-keys)"
        )
    with _connect(source_url, "the live key store") as source:
        found = source.execute("SELECT to_regclass('public.customer_keys') IS NOT NULL")
        row = found.fetchone()
    if not (row and row[0]):
        raise BackupError(
            f"{without_password(_display(source_url))} holds no key store (customer_keys): "
            "name the live store with --keys-from (or restore with --no-keys)"
        )


def _copy_keys(source_url: str, target_url: str) -> tuple[int, int]:
    """Copy from the key store at `source_url` the keys of the restored log's customers and
    the ledger's secret; (keys copied, customers of the restored log left without a key)."""
    with psycopg.connect(target_url) as target:
        wanted = _customers(target)
    rows = []
    with _connect(source_url, "the live key store") as source:
        found = source.execute(
            "SELECT customer_id, master_key_id, wrapped_key, created_at, rewrapped_at "
            "FROM customer_keys"
        )
        rows = [row for row in found if row[0] in wanted or row[0] == LEDGER_SECRET_ID]
    with (
        psycopg.connect(target_url) as target,
        target.cursor().copy(
            "COPY customer_keys (customer_id, master_key_id, wrapped_key, created_at, "
            "rewrapped_at) FROM STDIN"
        ) as copy,
    ):
        for row in rows:
            copy.write_row(row)
    with_key = {row[0] for row in rows}
    return len(rows), len(wanted - with_key)


def _customers(conn: psycopg.Connection[Any]) -> set[UUID]:
    return {row[0] for row in conn.execute("SELECT DISTINCT originator_id FROM customers_events")}


def _log_extent(conn: psycopg.Connection[Any], table: str) -> dict[str, int]:
    row = conn.execute(
        f"SELECT coalesce(max(notification_id), 0), count(*) FROM {table}"  # noqa: S608
    ).fetchone()
    assert row is not None
    return {"head": int(row[0]), "rows": int(row[1])}


def _connect(url: str, what: str) -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(url)
    except psycopg.OperationalError as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else "no answer"
        raise BackupError(
            f"cannot connect to {what} {without_password(_display(url))}: {first}"
        ) from None


def _same_database(a: str, b: str) -> bool:
    def where(url: str) -> tuple[str, str, str]:
        params = conninfo_to_dict(url)
        return (
            str(params.get("host") or "localhost").replace("127.0.0.1", "localhost"),
            str(params.get("port") or "5432"),
            str(params.get("dbname") or ""),
        )

    return where(a) == where(b)


def _display(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


def _package_version() -> str:
    try:
        return metadata.version("glowledger")
    except metadata.PackageNotFoundError:
        return "unknown"
