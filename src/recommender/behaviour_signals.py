"""Recent behaviour as implicit interactions: product views, add-to-cart and clicks on a
recommendation, read from ClickHouse's `behaviour_events` (written by ingestion, never by the
ledger).

Rows are keyed by the behaviour pseudonym (`person`, derived from the customer's own data key);
`behaviour_people` is the one place that links it to a customer id, so a forgotten customer's
rows (their link erased, their key shredded) are never read again. An anonymous row counts for
the person its anonymous id was stitched to at login (`behaviour_identities`); an anonymous id
stitched to more than one person (a shared device) counts for no one.

Only customers who may be personalised are read: their ids go into the query, so nobody else's
behaviour leaves ClickHouse. ClickHouse aggregates per customer x SKU x event over a window of
recent days, most recent first, up to a cap of rows: training reads at most that many rows
whatever the volume of events. Each row carries a count decayed to its last event, so the
weighting can decay it further to any `now` exactly as if it weighed every event alone."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from clickhouse_connect.driver.client import Client

from recommender.signals import ADD_TO_CART, RECOMMENDATION_CLICK, VIEW, Interaction

EVENT_KINDS = {
    "product_viewed": VIEW,
    "product_added_to_cart": ADD_TO_CART,
    "recommendation_clicked": RECOMMENDATION_CLICK,
}
TABLES = ("behaviour_events", "behaviour_people", "behaviour_identities")

# The decayed count is computed against `until` (exponents stay small within a window) and
# brought back to the row's last event: sum(2^-(until-t)/h) * 2^((until-last)/h).
QUERY = """
WITH
    stitched AS (
        SELECT i.anonymous_id AS anonymous_id, any(i.person) AS stitched_to
        FROM behaviour_identities AS i
        WHERE i.anonymous_id != '' AND i.person != ''
        GROUP BY i.anonymous_id
        HAVING uniqExact(i.person) = 1
    ),
    people AS (
        SELECT l.person AS linked_person, any(l.customer_id) AS linked_customer
        FROM behaviour_people AS l
        WHERE l.customer_id IN {customers:Array(String)} AND l.person != ''
        GROUP BY l.person
        HAVING uniqExact(l.customer_id) = 1
    ),
    attributed AS (
        SELECT if(e.person != '', e.person, s.stitched_to) AS who, e.sku AS sku, e.event AS event,
               e.occurred_at AS occurred_at
        FROM behaviour_events AS e
        LEFT JOIN stitched AS s ON e.anonymous_id = s.anonymous_id
        WHERE e.event IN {events:Array(String)} AND e.sku != ''
          AND e.occurred_at >= {since:DateTime64(3, 'UTC')}
          AND e.occurred_at < {until:DateTime64(3, 'UTC')}
    )
SELECT p.linked_customer AS customer_id, a.sku AS sku, a.event AS event,
       max(a.occurred_at) AS last_at,
       sum(exp2(-dateDiff('millisecond', a.occurred_at, {until:DateTime64(3, 'UTC')})
                / {half_life_ms:Float64}))
         * exp2(dateDiff('millisecond', max(a.occurred_at), {until:DateTime64(3, 'UTC')})
                / {half_life_ms:Float64}) AS decayed
FROM attributed AS a
INNER JOIN people AS p ON a.who = p.linked_person
GROUP BY customer_id, sku, event
ORDER BY last_at DESC, customer_id, sku, event
LIMIT {max_rows:UInt64}
"""


@dataclass(frozen=True)
class BehaviourWindow:
    days: int = 30  # recent days read
    max_rows: int = 200_000  # customer x SKU x event rows at most, the most recent first
    half_life_days: float = 14.0  # as Weighting.behaviour_half_life_days


@dataclass(frozen=True)
class BehaviourRead:
    interactions: list[Interaction]
    rows: int  # aggregated rows ClickHouse returned
    capped: bool  # the cap was reached: older rows were left out

    def as_dict(self) -> dict[str, Any]:
        return {
            "behaviour_rows": self.rows,
            "behaviour_interactions": len(self.interactions),
            "behaviour_capped": self.capped,
        }


NOTHING = BehaviourRead([], 0, False)


class BehaviourSource:
    """The behaviour tables of one ClickHouse database (a server, or chDB in-process)."""

    def __init__(self, client: Client, window: BehaviourWindow | None = None) -> None:
        self.client = client
        self.window = window or BehaviourWindow()

    def ready(self) -> bool:
        """Whether ingestion made the tables here (before that, there is nothing to read)."""
        found = self.client.query(
            "SELECT count() FROM system.tables WHERE database = currentDatabase()"
            " AND name IN {tables:Array(String)}",
            parameters={"tables": list(TABLES)},
        )
        return int(found.result_rows[0][0]) == len(TABLES)

    def read(
        self,
        customers: Iterable[str],
        sku_products: Mapping[str, str],
        until: datetime,
    ) -> BehaviourRead:
        """The behaviour of these customers (those who may be personalised) in the window
        before `until`, as interactions on products."""
        allowed = sorted(set(customers))
        if not allowed or self.window.days <= 0 or not self.ready():
            return NOTHING
        until = until.astimezone(UTC)
        result = self.client.query(
            QUERY,
            parameters={
                "customers": allowed,
                "events": list(EVENT_KINDS),
                "since": until - timedelta(days=self.window.days),
                "until": until,
                "half_life_ms": self.window.half_life_days * 86_400_000,
                "max_rows": self.window.max_rows,
            },
        )
        interactions = []
        for customer_id, sku, event, last_at, decayed in result.result_rows:
            code = sku_products.get(sku)
            if code is None:
                continue  # a SKU the catalogue does not know (yet)
            at = last_at if last_at.tzinfo else last_at.replace(tzinfo=UTC)
            interactions.append(
                Interaction(str(customer_id), code, EVENT_KINDS[event], at, float(decayed))
            )
        rows = len(result.result_rows)
        return BehaviourRead(interactions, rows, rows >= self.window.max_rows)
