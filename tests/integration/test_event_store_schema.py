"""The event store migration must match what eventsourcing itself creates, so the application
can run with CREATE_TABLE=n. A library upgrade that changes its tables fails here."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from domain.customer_ledger import CustomerLedger
from domain.experiment_ledger import ExperimentLedger
from domain.ledger import InventoryLedger
from domain.location import LocationDirectory
from storage.migrations import MIGRATIONS_DIRECTORY, apply_migrations

COLUMNS = """
SELECT table_name, column_name, data_type, is_nullable, column_default IS NOT NULL
FROM information_schema.columns WHERE table_schema = %s ORDER BY 1, 2
"""
INDEXES = """
SELECT tablename, indexname, replace(indexdef, %s || '.', '')
FROM pg_indexes WHERE schemaname = %s ORDER BY 1, 2
"""
TYPE_ATTRIBUTES = """
SELECT t.typname, a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
JOIN pg_class c ON c.oid = t.typrelid AND c.relkind = 'c'
JOIN pg_attribute a ON a.attrelid = t.typrelid AND a.attnum > 0
WHERE n.nspname = %s ORDER BY 1, a.attnum
"""
STORAGE_OPTIONS = """
SELECT c.relname, c.reloptions FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relkind = 'r' ORDER BY 1
"""
OWN_TABLES = frozenset(
    {
        "glow_schema_migrations",
        "audit_chain",
        "audit_checkpoints",
        "audit_verifications",
        "customer_keys",
        "pii_access_log",
        "stream_positions",
        "projection_dead_letters",
        "webhook_subscriptions",
        "webhook_deliveries",
        "webhook_positions",
        "marketplace_feed",
        "survey_deliveries",
        "survey_answer_counts",
        "segment_audiences",
        "segment_audience_computations",
        "loyalty_positions",
        "loyalty_refusals",
        "loyalty_expiries",
    }
)


def ledger_env(url: str, **settings: str) -> dict[str, str]:
    params = conninfo_to_dict(url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": str(params["dbname"]),
        "POSTGRES_HOST": str(params.get("host", "127.0.0.1")),
        "POSTGRES_PORT": str(params.get("port", "5432")),
        "POSTGRES_USER": str(params.get("user", "postgres")),
        "POSTGRES_PASSWORD": str(params.get("password", "unused")),
        **settings,
    }


def describe(conn: psycopg.Connection[Any], schema: str) -> list[tuple[Any, ...]]:
    """Tables, indexes, composite types and storage options of eventsourcing's own tables,
    leaving out the ledger's own (`glow_*`: the migration record, the command answers; the audit
    chain, its checkpoints and verifications; the customer key vault, the access log; the
    relay's and the stream workers' positions, the events they set aside; the webhook outbox and the
    marketplace feed)."""
    rows = [
        *conn.execute(COLUMNS, (schema,)),
        *conn.execute(INDEXES, (schema, schema)),
        *conn.execute(TYPE_ATTRIBUTES, (schema,)),
        *conn.execute(STORAGE_OPTIONS, (schema,)),
    ]
    return [row for row in rows if row[0] not in OWN_TABLES and not str(row[0]).startswith("glow_")]


def test_the_migrated_schema_equals_the_one_eventsourcing_creates(
    scratch_database_url: str,
) -> None:
    apply_migrations(scratch_database_url, MIGRATIONS_DIRECTORY)
    with psycopg.connect(scratch_database_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA library")
    InventoryLedger(env=ledger_env(scratch_database_url, POSTGRES_SCHEMA="library")).close()
    CustomerLedger(env=ledger_env(scratch_database_url, POSTGRES_SCHEMA="library")).close()
    ExperimentLedger(env=ledger_env(scratch_database_url, POSTGRES_SCHEMA="library")).close()

    with psycopg.connect(scratch_database_url) as conn:
        assert describe(conn, "public") == describe(conn, "library")


def test_the_ledger_saves_loads_and_snapshots_on_the_migrated_schema(
    scratch_database_url: str,
) -> None:
    apply_migrations(scratch_database_url, MIGRATIONS_DIRECTORY)
    ledger = InventoryLedger(env=ledger_env(scratch_database_url, CREATE_TABLE="n"))
    directory = LocationDirectory.open()
    directory.list_location("WH-LYON")
    try:
        ledger.save(directory)
        ledger.take_snapshot(directory.id)

        assert ledger.repository.get(directory.id).codes == ["WH-LYON"]
        assert [n.id for n in ledger.notification_log.select(start=1, limit=10)] == [1, 2]
        assert ledger.snapshots is not None
        assert [s.originator_version for s in ledger.snapshots.get(directory.id)] == [2]
    finally:
        ledger.close()
