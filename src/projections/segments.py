"""Segments computed in ClickHouse SQL, as of a moment, over the customers in the dimension
(only those whose `analytics` consent held at that moment; projections/customer_dimension.py)
and their purchases from the ledger (`customer_orders`, less cancelled orders and refunds in
`order_outcomes`). Only what the ledger had recorded by that moment counts: an order's
`recorded_at` and `placed_at`, a dimension version's `valid_from`, an outcome's `occurred_at`.

- **RFM**: recency (the last purchase), frequency (purchases), monetary (their value less
  refunds), each scored 1-5 by quintile of rank among the customers with a purchase: score =
  1 + floor(5 * (rank - 1) / n), rank as SQL's `rank()` ascending (ties share the lower rank,
  so equal figures always get the same score; the most recent, most frequent and highest
  spenders score 5).
- **Cohorts**: customers, buyers and revenue per skin type and per concern.
- **Churn risk**: with at least `min_orders` purchases, days since the last one greater than
  `k` times the median gap between their consecutive purchases (the median interpolated as
  `quantileExactInclusive(0.5)`, as Python's `statistics.median`).
- **Traits** per customer: orders, lifetime value, first and last purchase, average order value,
  favourite product line (most units, then its code), days since the last purchase, and when
  `behaviour_events` exists, when they were last seen (through `behaviour_people`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

DEFAULT_CHURN_FACTOR = 2.0
DEFAULT_MIN_ORDERS = 3


@dataclass(frozen=True)
class AsOf:
    """The moment a segment is computed as of, and the churn rule's parameters."""

    moment: datetime
    churn_factor: float = DEFAULT_CHURN_FACTOR
    min_orders: int = DEFAULT_MIN_ORDERS

    def parameters(self) -> dict[str, Any]:
        text = self.moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        return {"as_of": text, "k": self.churn_factor, "min_orders": self.min_orders}


_MEMBERS = """
members AS (
    SELECT customer_id,
           argMax(status, version) AS status,
           argMax(skin_type, version) AS skin_type,
           argMax(concerns, version) AS concerns,
           argMax(consents, version) AS consents,
           argMax(loyalty_tier, version) AS loyalty_tier,
           argMax(registered_on, version) AS registered_on,
           min(registered_at) AS registered_at
    FROM customer_dimension
    WHERE valid_from <= toDateTime64({as_of:String}, 6, 'UTC')
    GROUP BY customer_id
    HAVING status = 'active'
)"""

_PURCHASES = """
placed AS (
    SELECT customer_id, order_id, placed_at, value
    FROM customer_orders FINAL
    WHERE placed_at <= toDateTime64({as_of:String}, 6, 'UTC')
      AND recorded_at <= toDateTime64({as_of:String}, 6, 'UTC')
      AND customer_id IN (SELECT customer_id FROM members)
),
outcomes AS (
    SELECT order_id,
           countIf(kind IN ('cancelled', 'payment_failed')) > 0 AS cancelled,
           sumIf(amount, kind = 'return_refunded') AS refunded
    FROM order_outcomes FINAL
    WHERE occurred_at <= toDateTime64({as_of:String}, 6, 'UTC')
    GROUP BY order_id
),
purchases AS (
    SELECT p.customer_id AS customer_id, p.order_id AS order_id, p.placed_at AS placed_at,
           toFloat64(p.value) - toFloat64(ifNull(o.refunded, 0)) AS value
    FROM placed AS p LEFT JOIN outcomes AS o ON p.order_id = o.order_id
    WHERE NOT ifNull(o.cancelled, false)
)"""

_SCORES = """
rfm AS (
    SELECT customer_id, last_at, first_at, orders, monetary__GAP__,
           dateDiff('second', last_at, toDateTime64({as_of:String}, 6, 'UTC')) / 86400
               AS days_since,
           toUInt8(1 + intDiv(5 * (rank() OVER (ORDER BY last_at) - 1), count() OVER ()))
               AS recency_score,
           toUInt8(1 + intDiv(5 * (rank() OVER (ORDER BY orders) - 1), count() OVER ()))
               AS frequency_score,
           toUInt8(1 + intDiv(5 * (rank() OVER (ORDER BY monetary) - 1), count() OVER ()))
               AS monetary_score
    FROM stats
)"""
_RFM = """
stats AS (
    SELECT customer_id, max(placed_at) AS last_at, min(placed_at) AS first_at,
           count() AS orders, sum(value) AS monetary,
           arrayReduce('quantileExactInclusive(0.5)',
               arrayMap(g -> g / 86400000000,
                   arrayPopFront(arrayDifference(
                       arraySort(groupArray(toUnixTimestamp64Micro(placed_at))))))) AS median_gap
    FROM purchases
    GROUP BY customer_id
),""" + _SCORES.replace("__GAP__", ", median_gap")  # noqa: S608 - this module's text
# RFM alone (the segment route and the benchmark): without the gaps churn needs.
_RFM_ONLY = """
stats AS (
    SELECT customer_id, max(placed_at) AS last_at, min(placed_at) AS first_at,
           count() AS orders, sum(value) AS monetary
    FROM purchases
    GROUP BY customer_id
),""" + _SCORES.replace("__GAP__", "")  # noqa: S608 - this module's text

_FAVOURITE = """
favourite AS (
    SELECT customer_id,
           arraySort(x -> (-x.2, x.1), groupArray((product, units)))[1].1 AS favourite_product
    FROM (
        SELECT pu.customer_id AS customer_id, s.product AS product, sum(l.quantity) AS units
        FROM purchases AS pu
        INNER JOIN order_lines AS l ON l.order_id = pu.order_id
        INNER JOIN (
            SELECT code AS sku, argMax(value, version) AS product
            FROM catalog_attributes FINAL
            WHERE entity = 'sku' AND attribute = 'product_code'
            GROUP BY code
        ) AS s ON s.sku = l.sku
        WHERE l.kind = 'placed'
        GROUP BY customer_id, product
    )
    GROUP BY customer_id
)"""

_LAST_SEEN = """
last_seen AS (
    SELECT p.customer_id AS customer_id, max(b.occurred_at) AS last_seen_at
    FROM behaviour_events AS b
    INNER JOIN (SELECT customer_id, any(person) AS person FROM behaviour_people
                GROUP BY customer_id) AS p ON p.person = b.person
    WHERE b.person != ''
      AND b.occurred_at <= toDateTime64({as_of:String}, 6, 'UTC')
      AND p.customer_id IN (SELECT customer_id FROM members)
    GROUP BY p.customer_id
)"""


def profiles_sql(with_behaviour: bool) -> str:
    """One row per member as of the moment: every trait an audience may name."""
    ctes = [_MEMBERS, _PURCHASES, _RFM, _FAVOURITE]
    seen_join, seen_column = "", "CAST(NULL AS Nullable(DateTime64(3, 'UTC'))) AS last_seen_at"
    if with_behaviour:
        ctes.append(_LAST_SEEN)
        seen_join = "LEFT JOIN last_seen AS ls ON ls.customer_id = m.customer_id"
        seen_column = "ls.last_seen_at AS last_seen_at"
    return (
        "WITH "
        + ",".join(ctes)
        + f"""
SELECT m.customer_id AS customer_id, m.skin_type AS skin_type, m.concerns AS concerns,
       m.consents AS consents, m.loyalty_tier AS loyalty_tier,
       m.registered_on AS registered_on, m.registered_at AS registered_at,
       ifNull(r.orders, 0) AS orders, ifNull(r.monetary, 0) AS lifetime_value,
       r.first_at AS first_order_at, r.last_at AS last_order_at,
       if(r.orders > 0, r.monetary / r.orders, NULL) AS average_order_value,
       r.days_since AS days_since_last_order,
       r.recency_score AS recency_score, r.frequency_score AS frequency_score,
       r.monetary_score AS monetary_score, r.median_gap AS median_gap_days,
       ifNull(r.orders >= {{min_orders:UInt32}} AND r.days_since > {{k:Float64}} * r.median_gap,
              false) AS churn_risk,
       f.favourite_product AS favourite_product,
       {seen_column}
FROM members AS m
LEFT JOIN rfm AS r ON r.customer_id = m.customer_id
LEFT JOIN favourite AS f ON f.customer_id = m.customer_id
{seen_join}"""  # noqa: S608 - this module's text; values are parameters
    )


QUERY_SETTINGS = {"join_use_nulls": 1}


def has_behaviour(client: Client) -> bool:
    found = client.query(
        "SELECT count() FROM system.tables WHERE database = currentDatabase()"
        " AND name IN ('behaviour_events', 'behaviour_people')"
    )
    return int(found.result_rows[0][0]) == 2


def _rows(client: Client, sql: str, parameters: dict[str, Any]) -> list[dict[str, Any]]:
    result = client.query(sql, parameters=parameters, settings=QUERY_SETTINGS)
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]


def profiles(
    client: Client, as_of: AsOf, where: str = "", parameters: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The members' traits, filtered by `where` (made by projections/audiences.py from a
    definition, with its own parameters: never text from a caller)."""
    sql = f"SELECT * FROM ({profiles_sql(has_behaviour(client))})"  # noqa: S608
    if where:
        sql += f" WHERE {where}"
    sql += " ORDER BY customer_id"
    return _rows(client, sql, {**as_of.parameters(), **(parameters or {})})


def rfm(client: Client, as_of: AsOf) -> list[dict[str, Any]]:
    """Each buyer's RFM figures and scores, and a summary per RFM cell."""
    sql = (
        "WITH "
        + ",".join([_MEMBERS, _PURCHASES, _RFM_ONLY])
        + """
SELECT customer_id, recency_score, frequency_score, monetary_score,
       round(days_since, 3) AS days_since_last_order, orders, round(monetary, 4) AS monetary
FROM rfm ORDER BY customer_id"""
    )
    return _rows(client, sql, as_of.parameters())


# The usual RFM map on recency x frequency (each 1-5): the named segment of every cell.
RFM_SEGMENTS: tuple[tuple[str, range, range], ...] = (
    ("champions", range(5, 6), range(4, 6)),
    ("loyal", range(3, 5), range(4, 6)),
    ("potential_loyalists", range(4, 6), range(2, 4)),
    ("new_customers", range(5, 6), range(1, 2)),
    ("promising", range(4, 5), range(1, 2)),
    ("need_attention", range(3, 4), range(3, 4)),
    ("about_to_sleep", range(3, 4), range(1, 3)),
    ("cannot_lose", range(1, 3), range(5, 6)),
    ("at_risk", range(1, 3), range(3, 5)),
    ("hibernating", range(1, 3), range(1, 3)),
)


def rfm_segment(recency: int, frequency: int) -> str:
    """The named segment of an RFM cell (every cell of 1-5 x 1-5 has exactly one)."""
    for name, recencies, frequencies in RFM_SEGMENTS:
        if recency in recencies and frequency in frequencies:
            return name
    raise ValueError(f"no RFM segment for recency {recency}, frequency {frequency}")


def rfm_cells(client: Client, as_of: AsOf) -> list[dict[str, Any]]:
    """The RFM segment as a whole: per (recency, frequency, monetary) cell, its customers and
    revenue, computed in ClickHouse (what `GET /segments/rfm` answers by default; nothing per
    customer leaves the database)."""
    sql = (
        "WITH "
        + ",".join([_MEMBERS, _PURCHASES, _RFM_ONLY])
        + """
SELECT recency_score, frequency_score, monetary_score, count() AS customers,
       round(sum(monetary), 4) AS revenue
FROM rfm GROUP BY recency_score, frequency_score, monetary_score
ORDER BY recency_score, frequency_score, monetary_score"""
    )
    return _rows(client, sql, as_of.parameters())


def rfm_summary(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The named segments (champions, at risk, ...) with their customers and revenue."""
    found: dict[str, dict[str, Any]] = {
        name: {"segment": name, "customers": 0, "revenue": 0.0} for name, _, _ in RFM_SEGMENTS
    }
    for cell in cells:
        named = found[rfm_segment(cell["recency_score"], cell["frequency_score"])]
        named["customers"] += cell["customers"]
        named["revenue"] = round(named["revenue"] + float(cell["revenue"]), 4)
    return list(found.values())


def cohorts(client: Client, as_of: AsOf) -> dict[str, list[dict[str, Any]]]:
    ctes = ",".join([_MEMBERS, _PURCHASES])
    base = f"""WITH {ctes},
spend AS (SELECT customer_id, count() AS orders, sum(value) AS revenue FROM purchases
          GROUP BY customer_id),
cohort AS (
    SELECT m.customer_id AS customer_id, m.skin_type AS skin_type, m.concerns AS concerns,
           ifNull(s.orders, 0) AS orders, ifNull(s.revenue, 0) AS revenue
    FROM members AS m LEFT JOIN spend AS s ON s.customer_id = m.customer_id
)
"""  # noqa: S608 - this module's text; values are parameters
    by_skin = (
        base
        + """
SELECT if(skin_type = '', 'unknown', skin_type) AS skin_type, count() AS customers,
       countIf(orders > 0) AS buyers, round(sum(revenue), 4) AS revenue
FROM cohort GROUP BY skin_type ORDER BY skin_type"""
    )
    by_concern = (
        base
        + """
SELECT arrayJoin(concerns) AS concern, count() AS customers, countIf(orders > 0) AS buyers,
       round(sum(revenue), 4) AS revenue
FROM cohort GROUP BY concern ORDER BY concern"""
    )
    parameters = as_of.parameters()
    return {
        "skin_types": _rows(client, by_skin, parameters),
        "concerns": _rows(client, by_concern, parameters),
    }


def churn(client: Client, as_of: AsOf) -> list[dict[str, Any]]:
    """The customers with enough history to judge, their figures and whether they are at risk."""
    sql = (
        "WITH "
        + ",".join([_MEMBERS, _PURCHASES, _RFM])
        + """
SELECT customer_id, orders, round(days_since, 3) AS days_since_last_order,
       round(median_gap, 3) AS median_gap_days,
       days_since > {k:Float64} * median_gap AS at_risk
FROM rfm WHERE orders >= {min_orders:UInt32} ORDER BY customer_id"""
    )
    return _rows(client, sql, as_of.parameters())
