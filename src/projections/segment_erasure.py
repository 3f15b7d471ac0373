"""Forgetting a customer in the segments' tables: every row naming their pseudonymous id goes
(`customer_orders`, `customer_dimension`), rewritten out of the table's parts before this
returns (a mutation waited for, not a lightweight delete that only masks the rows). Audiences
read only the dimension, so the customer is in none from then on; a rebuild of the facts
brings their orders back under the pseudonymous id, but never into a segment, whose members
all come from the dimension, where a forgotten customer gets no row again."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client


SEGMENT_TABLES = ("customer_orders", "customer_dimension")


def erase_segments(client: Client, customer_id: str) -> None:
    for table in SEGMENT_TABLES:
        client.command(
            f"ALTER TABLE {table} DELETE WHERE customer_id = {{c:String}}",
            parameters={"c": customer_id},
            settings={"mutations_sync": 2},
        )
