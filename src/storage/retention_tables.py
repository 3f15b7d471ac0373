"""The ledger's side tables that keep rows for a while, not for good: which rows of each are
old, counted or deleted in bounded batches (each batch its own short transaction, so a big
table is never locked for long and the writer, the dispatcher and the API keep going).

The event tables (`inventory_events`, `customers_events`), the snapshots, the audit chain and
its checkpoints are business facts and tamper evidence: no rule here names them, and
`EVENT_LOG_TABLES` lets a caller check that none ever does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

EVENT_LOG_TABLES = frozenset(
    {
        "inventory_events",
        "inventory_snapshots",
        "customers_events",
        "audit_chain",
        "audit_checkpoints",
    }
)
DEFAULT_BATCH = 5_000


@dataclass(frozen=True)
class TableRule:
    """The rows of `table` that are old at a cutoff: `old` is a condition on the row with one
    `%(cutoff)s` parameter; `oldest_first` an indexed column the batches walk, so a batch finds
    its rows at the start of an index instead of scanning the table."""

    kind: str
    table: str
    old: str
    oldest_first: str

    def __post_init__(self) -> None:
        if self.table in EVENT_LOG_TABLES:
            raise ValueError(f"{self.table} holds business facts: no retention rule may name it")


COMMAND_ANSWERS = TableRule(
    "command_answers", "glow_command_answers", "recorded_at < %(cutoff)s", "recorded_at"
)
PII_ACCESS_LOG = TableRule("pii_access_log", "pii_access_log", "at < %(cutoff)s", "id")
WEBHOOK_DELIVERIES = TableRule(
    "webhook_deliveries",
    "webhook_deliveries",
    "status = 'delivered' AND delivered_at < %(cutoff)s",
    "id",
)
WEBHOOK_DEAD_LETTERS = TableRule(
    "webhook_dead_letters",
    "webhook_deliveries",
    "status = 'dead' AND recorded_at < %(cutoff)s",
    "id",
)
# A feed row is the last figure published for a (channel, SKU): one with nothing waiting and
# published long ago is a SKU that stopped moving (discontinued, delisted). Without its row,
# its next change is published even if the figure is the one published last.
MARKETPLACE_FEED = TableRule(
    "marketplace_feed",
    "marketplace_feed",
    "changed_position <= flushed_position AND published_at < %(cutoff)s",
    "published_at",
)
# The webhook ids of survey deliveries (api/survey_routes.py): kept to answer a resend once.
SURVEY_DELIVERIES = TableRule(
    "survey_deliveries", "survey_deliveries", "received_at < %(cutoff)s", "received_at"
)
RULES = (
    COMMAND_ANSWERS,
    PII_ACCESS_LOG,
    WEBHOOK_DELIVERIES,
    WEBHOOK_DEAD_LETTERS,
    MARKETPLACE_FEED,
    SURVEY_DELIVERIES,
)


def count_old(conn: psycopg.Connection[Any], rule: TableRule, cutoff: datetime) -> int:
    query = sql.SQL("SELECT count(*) FROM {table} WHERE {old}").format(
        table=sql.Identifier(rule.table), old=sql.SQL(rule.old)
    )
    row = conn.execute(query, {"cutoff": cutoff}).fetchone()
    return int(row[0]) if row else 0


def delete_old(conninfo: str, rule: TableRule, cutoff: datetime, batch: int = DEFAULT_BATCH) -> int:
    """Delete the rule's old rows, `batch` at a time, each batch committed on its own; rows a
    writer holds locked right now are skipped (the next run takes them). Returns how many."""
    if batch < 1:
        raise ValueError("a batch holds at least one row")
    query = sql.SQL(
        "DELETE FROM {table} WHERE ctid = ANY(ARRAY("
        "SELECT ctid FROM {table} WHERE {old} ORDER BY {order} LIMIT %(batch)s "
        "FOR UPDATE SKIP LOCKED)) AND {old}"
    ).format(
        table=sql.Identifier(rule.table),
        old=sql.SQL(rule.old),
        order=sql.Identifier(rule.oldest_first),
    )
    removed = 0
    with psycopg.connect(conninfo, autocommit=True) as conn:
        while True:
            with conn.transaction():
                deleted = conn.execute(query, {"cutoff": cutoff, "batch": batch}).rowcount
            removed += deleted
            if deleted < batch:
                return removed


def table_exists(conn: psycopg.Connection[Any], table: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f"public.{table}",)).fetchone()
    return bool(row and row[0])
