"""A long sales history written straight into the inventory event table, for the analyst
benchmark: one `Stock.Sold` event (one sales line) per row of `generate_series`, in the exact
stored form the ledger's own mapper writes (checked: a sample decoded by the ledger's mapper
and encoded again gives the same bytes), on the stocks the benchmark seeded, each event the
next version of its stock, under the ledger's table lock so notification ids commit in order.

Sales spread over a year of days and four channels; quantities 1-3 of batch B1 at 9.90 EUR.
The command writer would take minutes for a million sales; this takes seconds.
"""

from __future__ import annotations

import random
from typing import Any

import psycopg
from eventsourcing.persistence import StoredEvent

from domain.ledger import InventoryLedger

# ISO 8601 as datetime.isoformat() writes it: no fraction when the microseconds are zero.
_ISO = """(to_char({t}, 'YYYY-MM-DD"T"HH24:MI:SS')
  || CASE WHEN to_char({t}, 'US') = '000000' THEN '' ELSE '.' || to_char({t}, 'US') END
  || '+00:00')"""

INSERT_SALES = f"""
WITH stocks AS (
    SELECT originator_id, max(originator_version) AS version,
           row_number() OVER (ORDER BY originator_id) - 1 AS k, count(*) OVER () AS n
    FROM inventory_events
    WHERE originator_id IN (
        SELECT originator_id FROM inventory_events WHERE topic = 'domain.stock:Stock.Opened')
    GROUP BY originator_id
), sales AS (
    SELECT i, s.originator_id, s.version + 1 + i / s.n AS version,
           (now() + i * interval '1 microsecond') AT TIME ZONE 'UTC' AS recorded,
           (%(first_day)s::timestamptz + i * %(spacing)s * interval '1 microsecond')
               AT TIME ZONE 'UTC' AS occurred,
           (ARRAY['pos', 'web', 'app', 'marketplace'])[1 + (i / 7) %% 4] AS channel,
           1 + i %% 3 AS quantity
    FROM generate_series(0::bigint, %(count)s - 1) AS i
    JOIN stocks s ON s.k = i %% s.n
)
INSERT INTO inventory_events (originator_id, originator_version, topic, state)
SELECT originator_id, version, 'domain.stock:Stock.Sold', convert_to(
    '{{"timestamp":{{"_type_":"datetime_iso","_data_":"' || {_ISO.format(t="recorded")} || '"}},'
    || '"reservation_id":null,"allocations":{{"B1":' || quantity || '}},'
    || '"unit_price":{{"_type_":"decimal_str","_data_":"9.90"}},"currency":"EUR",'
    || '"trace":{{"_type_":"trace","_data_":{{"channel":"' || channel || '",'
    || '"principal":"bench","occurred_at":{{"_type_":"datetime_iso","_data_":"'
    || {_ISO.format(t="occurred")} || '"}},'
    || '"idempotency_key":null,"source_ref":null,"reason":null,"customer_id":null}}}}}}',
    'UTF8')
FROM sales ORDER BY i
"""


def write_sales(store_url: str, count: int, first_day: str = "2025-01-01T00:00:00+00") -> None:
    """Append `count` one-line sales to the stocks already in the store, in one transaction."""
    if count <= 0:
        return
    spacing = 365 * 86_400_000_000 // count + 1  # microseconds: the sales fill about a year
    with psycopg.connect(store_url) as conn, conn.transaction():
        conn.execute("LOCK TABLE inventory_events IN EXCLUSIVE MODE")
        conn.execute(INSERT_SALES, {"first_day": first_day, "spacing": spacing, "count": count})


def check_stored_form(store_url: str, ledger: InventoryLedger, sample: int = 50) -> None:
    """The ledger's mapper reads a sample of the sales back and writes the very same bytes."""
    with psycopg.connect(store_url) as conn:
        rows: list[Any] = conn.execute(
            "SELECT originator_id, originator_version, topic, state FROM inventory_events "
            "WHERE topic = 'domain.stock:Stock.Sold' ORDER BY notification_id DESC LIMIT %s",
            (sample * 20,),
        ).fetchall()
    for originator_id, version, topic, state in random.sample(rows, min(sample, len(rows))):
        stored = StoredEvent(originator_id, version, topic, bytes(state))
        again = ledger.mapper.to_stored_event(ledger.mapper.to_domain_event(stored))
        if again.state != stored.state:
            raise SystemExit(f"a generated sale is not in the ledger's form: {stored.state!r}")
