"""Forgetting a customer in the segments' tables: every row naming their pseudonymous id goes
(`customer_orders`, `customer_dimension`), rewritten out of the table's parts before this
returns (a mutation waited for, not a lightweight delete that only masks the rows). Audiences
read only the dimension, so the customer is in none from then on; a rebuild of the facts
brings their orders back under the pseudonymous id, but never into a segment, whose members
all come from the dimension, where a forgotten customer gets no row again."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from projections.behaviour_erasure import delete_rows, table_exists

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client


SEGMENT_TABLES = ("customer_orders", "customer_dimension")


def erase_segments(client: Client, customer_id: str) -> list[str]:
    """Delete the customer's rows from the segments' tables; returns the tables mutated. The id
    goes through a Memory table, so that no mutation's record names the customer."""
    tables = [table for table in SEGMENT_TABLES if table_exists(client, table)]
    if not tables:
        return []
    erasing = f"glow_erasing_{secrets.token_hex(6)}"
    client.command(f"CREATE TABLE {erasing} (customer_id String) ENGINE = Memory")
    try:
        client.insert(erasing, [[customer_id]], ["customer_id"])
        where = f"customer_id IN (SELECT customer_id FROM {erasing})"  # noqa: S608 - our names
        return [delete_rows(client, table, where) for table in tables]
    finally:
        client.command(f"DROP TABLE IF EXISTS {erasing} SYNC")
