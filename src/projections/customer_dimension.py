"""The customer dimension in ClickHouse: for each customer whose `analytics` consent is
granted, a version of their analytic facts per customer event, valid from the moment the
ledger recorded that event, so a segment can be computed as of any moment.

A row holds the customer's pseudonymous id, when and on which channel they registered, their
skin type and concerns (the cohorts' keys: closed lists, never free text, and never their
allergies), the purposes they consented to, their loyalty tier and status. No contact, no
name. Without the `analytics` consent nothing is written; when it is withdrawn (or the customer
is merged into another) a tombstone version (`withdrawn`, `merged`) ends their presence from
then on. A forgotten customer gets no rows at all: the follower deletes every row of theirs
(projections/segment_erasure.py) and a replay of their history writes none again.

`dimension_rows` is a pure function of one customer's whole history (unsealed events, as the
customer ledger's mapper gives them); the service layer's follower reads the log and writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from clickhouse_connect.driver.client import Client

from domain.customer import Customer
from projections.columnar_insert import ColumnarInsert

ANALYTICS = "analytics"
ACTIVE, WITHDRAWN, MERGED = "active", "withdrawn", "merged"
DIMENSION_COLUMNS = (
    "customer_id", "version", "valid_from", "status", "registered_at", "registered_on",
    "skin_type", "concerns", "consents", "loyalty_tier",
)  # fmt: skip


@dataclass(frozen=True)
class DimensionRow:
    customer_id: str
    version: int
    valid_from: datetime
    status: str
    registered_at: datetime
    registered_on: str
    skin_type: str
    concerns: tuple[str, ...]
    consents: tuple[str, ...]
    loyalty_tier: str

    def values(self) -> tuple[Any, ...]:
        return (
            self.customer_id, self.version, self.valid_from, self.status, self.registered_at,
            self.registered_on, self.skin_type, list(self.concerns), list(self.consents),
            self.loyalty_tier,
        )  # fmt: skip


def dimension_rows(history: Sequence[Any]) -> list[DimensionRow]:
    """The dimension's versions of one customer, from their whole history in order. Empty for
    a customer forgotten by the end of it, and for one who never consented to analytics."""
    customer: Customer | None = None
    rows: list[DimensionRow] = []
    registered_at: datetime | None = None
    for event in history:
        customer = event.mutate(customer)
        assert customer is not None
        if registered_at is None:
            registered_at = event.trace.occurred_at
        assert registered_at is not None
        if customer.forgotten:
            return []
        row = _version(customer, event.timestamp, registered_at)
        if row.status == ACTIVE or (rows and rows[-1].status == ACTIVE):
            rows.append(row)
    return rows


def _version(customer: Customer, recorded: datetime, registered_at: datetime) -> DimensionRow:
    consented = customer.has_consent(ANALYTICS) and customer.merged_into is None
    status = ACTIVE if consented else MERGED if customer.merged_into is not None else WITHDRAWN
    skin = customer.skin if consented else {}
    return DimensionRow(
        customer_id=str(customer.id),
        version=customer.version,
        valid_from=recorded,
        status=status,
        registered_at=registered_at,
        registered_on=customer.registered_on if consented else "",
        skin_type=str(skin.get("skin_type") or ""),
        concerns=tuple(sorted(skin.get("concerns") or ())),
        consents=tuple(sorted(p for p in customer.consents if customer.has_consent(p)))
        if consented
        else (),
        loyalty_tier=customer.loyalty_tier if consented else "",
    )


class CustomerDimension:
    """The dimension's table and the follower's position, in one ClickHouse database."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.database: str = client.database or "default"
        self._columns = ColumnarInsert(client, self.database)

    def write(self, rows: Iterable[DimensionRow], consumer: str, position: int) -> None:
        """The rows, then the position: a crash in between writes the same versions again."""
        values = [row.values() for row in rows]
        if values:
            self._columns.insert("customer_dimension", DIMENSION_COLUMNS, values)
        self.client.command(
            "INSERT INTO segment_positions (consumer, position) VALUES ({c:String}, {p:UInt64})",
            parameters={"c": consumer, "p": position},
        )

    def position(self, consumer: str) -> int:
        result = self.client.query(
            "SELECT max(position) FROM segment_positions WHERE consumer = {c:String}",
            parameters={"c": consumer},
        )
        return int(result.result_rows[0][0] or 0)
