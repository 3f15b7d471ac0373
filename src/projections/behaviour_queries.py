"""Reading and erasing the behaviour tables: a person's events through the identity graph,
the tracking plan's violations, and the erasure of a forgotten customer's behaviour."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from clickhouse_connect.driver.client import Client


def person_events(
    client: Client, person: str, since: datetime | None = None, limit: int = 1000
) -> list[dict[str, Any]]:
    """The person's events, oldest first: those recorded under their pseudonym, and those of
    the anonymous sessions stitched to them (earlier ones included), through the graph."""
    result = client.query(
        "SELECT event_id, occurred_at, event, channel, anonymous_id, sku, properties"
        " FROM behaviour_attributed WHERE person = {p:String}"
        " AND occurred_at >= {since:DateTime64(3, 'UTC')}"
        " ORDER BY occurred_at, event_id LIMIT {n:UInt32}",
        parameters={"p": person, "since": since or datetime(1970, 1, 1), "n": limit},
    )
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]


def customer_person(client: Client, customer_id: str) -> str | None:
    """The behaviour pseudonym linked to a customer id (behaviour_people), if any."""
    rows = client.query(
        "SELECT person FROM behaviour_people FINAL WHERE customer_id = {c:String}",
        parameters={"c": customer_id},
    ).result_rows
    return str(rows[0][0]) if rows else None


def tracking_violations(client: Client, since: date | None = None) -> list[dict[str, Any]]:
    """Violations counted per event name, kind, property and outcome (blocked or passed)."""
    result = client.query(
        "SELECT event, kind, property, outcome, sum(events) AS events,"
        " min(day) AS first_day, max(day) AS last_day FROM tracking_violations"
        " WHERE day >= {since:Date} GROUP BY event, kind, property, outcome"
        " ORDER BY events DESC, event, kind, property, outcome",
        parameters={"since": since or date(1970, 1, 1)},
    )
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]


def stitch_refusals(client: Client, since: date | None = None) -> dict[str, int]:
    """Stitches the identity graph refused, per reason (other_person, person_full)."""
    rows = client.query(
        "SELECT reason, sum(events) FROM behaviour_stitch_refusals WHERE day >= {since:Date}"
        " GROUP BY reason ORDER BY reason",
        parameters={"since": since or date(1970, 1, 1)},
    ).result_rows
    return {str(reason): int(n) for reason, n in rows}
