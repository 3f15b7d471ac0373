"""An experiment's figures per variant, computed in ClickHouse from its exposure rows, the order
facts and behaviour.

Each exposed customer (a pseudonym of `experiment_exposures`) counts in the variant of their
first exposure, from which their attribution window of N days runs. Their orders placed in
that window (`customer_orders`, joined through `experiment_people` from the pseudonym to the
customer id) are attributed once each: an order is one row per customer whatever the number of
exposures or of windows it falls in. Per customer: lists shown, clicks on recommendations
(`recommendation_clicked` in `behaviour_attributed`, in the window; only customers whose
behaviour is collected, with analytics consent, click visibly), attributed orders, whether any,
their value, how many came back (a return received or refunded), and the value of their orders
in the N days before the first exposure (the covariate of CUPED). ClickHouse then aggregates
per variant the moments the intervals need (counts, means, variances, covariances); nothing per
customer leaves it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

RETURNED = ("return_received", "return_refunded")

PER_CUSTOMER = """
WITH exposed AS (
    SELECT person, argMin(variant, at) AS variant, min(at) AS first_at, count() AS exposures,
           sum(rule_violations) AS violations
    FROM experiment_exposures FINAL
    WHERE experiment_id = {experiment:String}
    GROUP BY person
),
linked AS (
    SELECT person, any(customer_id) AS customer_id
    FROM experiment_people FINAL
    WHERE person IN (SELECT person FROM exposed)
    GROUP BY person
),
bought AS (
    SELECT x.person AS person, o.order_id AS order_id, any(o.value) AS value,
           any(o.placed_at) AS placed_at, any(x.first_at) AS first_at
    FROM exposed AS x
    INNER JOIN linked AS l ON l.person = x.person
    INNER JOIN (SELECT customer_id, order_id, placed_at, toFloat64(value) AS value
                FROM customer_orders FINAL) AS o ON o.customer_id = l.customer_id
    WHERE o.placed_at >= x.first_at - toIntervalDay({days:UInt32})
      AND o.placed_at < x.first_at + toIntervalDay({days:UInt32})
    GROUP BY person, order_id
),
returned AS (
    SELECT DISTINCT order_id FROM order_outcomes FINAL
    WHERE kind IN {returned:Array(String)}
      AND order_id IN (SELECT order_id FROM bought)
),
orders AS (
    SELECT person,
           countIf(placed_at >= first_at) AS orders,
           sumIf(value, placed_at >= first_at) AS revenue,
           sumIf(value, placed_at < first_at) AS pre_revenue,
           countIf(placed_at >= first_at AND order_id IN (SELECT order_id FROM returned))
               AS returned_orders
    FROM bought
    GROUP BY person
),
clicked AS (
    SELECT b.person AS person, count() AS clicks
    FROM behaviour_attributed AS b
    INNER JOIN exposed AS x ON x.person = b.person
    WHERE b.event = 'recommendation_clicked' AND b.person != ''
      AND b.occurred_at >= x.first_at
      AND b.occurred_at < x.first_at + toIntervalDay({days:UInt32})
    GROUP BY b.person
)
SELECT x.variant AS variant, x.person AS person, toFloat64(x.exposures) AS exposures,
       toUInt64(x.violations) AS violations, toFloat64(c.clicks) AS clicks,
       toUInt64(o.orders) AS orders, toFloat64(o.revenue) AS revenue,
       toFloat64(o.pre_revenue) AS pre_revenue, toUInt64(o.returned_orders) AS returned_orders
FROM exposed AS x
LEFT JOIN orders AS o ON o.person = x.person
LEFT JOIN clicked AS c ON c.person = x.person
"""  # unmatched LEFT JOIN columns read as 0 (join_use_nulls off, ClickHouse's default)

PER_VARIANT = f"""
SELECT variant,
       count() AS customers,
       sum(exposures), avg(exposures), varSamp(exposures),
       sum(clicks), avg(clicks), varSamp(clicks), covarSamp(clicks, exposures),
       countIf(orders > 0), sum(orders), sum(returned_orders), sum(violations),
       avg(revenue), varSamp(revenue),
       avg(pre_revenue), varSamp(pre_revenue), covarSamp(revenue, pre_revenue)
FROM ({PER_CUSTOMER})
GROUP BY variant
ORDER BY variant
"""  # noqa: S608 - our own query text, every value a parameter


@dataclass(frozen=True)
class VariantFigures:
    """One variant's moments over its exposed customers (one value per customer each)."""

    variant: str
    customers: int
    exposures: int
    exposures_mean: float
    exposures_var: float
    clicks: int
    clicks_mean: float
    clicks_var: float
    clicks_exposures_cov: float
    converted: int
    orders: int
    returned_orders: int
    rule_violations: int
    revenue_mean: float
    revenue_var: float
    pre_revenue_mean: float
    pre_revenue_var: float
    revenue_pre_cov: float

    @classmethod
    def of_row(cls, row: tuple[Any, ...]) -> VariantFigures:
        (variant, customers, exposures, e_mean, e_var, clicks, c_mean, c_var, ce_cov, converted,
         orders, returned, violations, r_mean, r_var, p_mean, p_var, rp_cov) = row  # fmt: skip
        return cls(
            str(variant), int(customers), int(exposures), _f(e_mean), _f(e_var), int(clicks),
            _f(c_mean), _f(c_var), _f(ce_cov), int(converted), int(orders), int(returned),
            int(violations), _f(r_mean), _f(r_var), _f(p_mean), _f(p_var), _f(rp_cov),
        )  # fmt: skip


def _f(value: Any) -> float:
    """ClickHouse's varSamp of one value is nan: no spread known, taken as 0."""
    number = float(value)
    return 0.0 if number != number else number


def variant_figures(client: Any, experiment_id: str, days: int) -> list[VariantFigures]:
    rows = client.query(
        PER_VARIANT,
        parameters={"experiment": experiment_id, "days": days, "returned": list(RETURNED)},
    ).result_rows
    return [VariantFigures.of_row(tuple(row)) for row in rows]
