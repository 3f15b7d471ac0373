"""How well orders are fulfilled, from the order facts (projections/order_facts.py, read with
FINAL so every fact counts once).

The orders counted are those placed (`Order.Placed`, its `occurred_at`) on the days from
`start` to `end` inclusive, in UTC, optionally of one channel; each figure belongs to the day
and channel the order was placed on. A fulfilment order counts if the order's last sourcing
made it (those an edit withdrew, to source the order again, are left out), whatever became of
it. Units are stock units (a kit's components one by one), as fulfilment orders hold them.

- fill rate: of the *settled* orders (each fulfilment order handed over (shipped, delivered or
  collected), not collected, cancelled, or emptied by cancelled lines), `units_filled` (units
  of fulfilment orders handed over, less what cancelled lines took out before) over
  `units_ordered` (units the fulfilment orders were sourced with: the ledger sources an order
  whole or not at all, so these are the units the order asked for); and `orders_filled` (every
  unit handed over) over `settled_orders`. Orders still in fulfilment are `open_orders`.
- split rate: `split_orders` (sourced into more than one fulfilment order) over
  `sourced_orders`.
- ship-from-store share: ship fulfilment orders at a location registered as a `store` over all
  ship fulfilment orders (`ship_from_store_share`), and the same by units
  (`ship_from_store_unit_share`).
- pickup no-show rate: pickup fulfilment orders `not_collected` over `collected +
  not_collected` (those still waiting are in neither).
- time to ship: seconds from the order's placing to each ship fulfilment order's `Shipped`
  (`occurred_at` of both), 50th and 90th percentile, linearly interpolated between the two
  nearest ranks (ClickHouse's quantileExactInclusive, as numpy's default percentile); the same
  from placing to `ReadyForPickup` for pickup fulfilment orders.

A ratio whose denominator is 0 is null. Rows come per day and channel, then per channel over
the whole period (`day` null), then for everything (`day` and `channel` null).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # its clients (ClickHouse, Arrow) load only where facts are configured
    from projections.clickhouse_facts import ClickHouseFacts

Answer = list[dict[str, Any]]

HANDED_OVER = "('shipped', 'delivered', 'collected')"

_FULFILMENTS = f"""
    SELECT order_id, fulfilment_id,
           anyIf(location, state = 'open') AS location,
           anyIf(method, state = 'open') AS method,
           sumIf(units, state = 'open') AS sourced,
           sumIf(units, state IN ('open', 'reduced')) AS kept,
           countIf(state IN {HANDED_OVER}) > 0 AS handed_over,
           countIf(state = 'collected') > 0 AS collected,
           countIf(state = 'not_collected') > 0 AS no_show,
           countIf(state = 'cancelled') > 0 AS cancelled,
           countIf(state = 'shipped') > 0 AS shipped,
           minIf(occurred_at, state = 'shipped') AS shipped_at,
           countIf(state = 'ready_for_pickup') > 0 AS ready,
           minIf(occurred_at, state = 'ready_for_pickup') AS ready_at,
           handed_over OR no_show OR cancelled OR kept <= 0 AS settled
    FROM fulfilments FINAL
    WHERE order_id IN (SELECT order_id FROM placed)
    GROUP BY order_id, fulfilment_id
    HAVING countIf(state = 'open') > 0 AND countIf(state = 'withdrawn') = 0"""  # noqa: S608

_ORDERS = """
    SELECT order_id, count() AS made, min(settled) AS settled,
           sum(sourced) AS units_ordered, sum(if(handed_over, kept, 0)) AS units_filled
    FROM made GROUP BY order_id"""

_FIGURES = """
    uniqExact(p.order_id) AS orders,
    uniqExactIf(p.order_id, o.made > 0) AS sourced_orders,
    uniqExactIf(p.order_id, o.made > 1) AS split_orders,
    if(sourced_orders > 0, round(split_orders / sourced_orders, 4), NULL) AS split_rate,
    uniqExactIf(p.order_id, o.made > 0 AND o.settled) AS settled_orders,
    uniqExactIf(p.order_id, o.made > 0 AND NOT o.settled) AS open_orders,
    uniqExactIf(p.order_id, o.settled AND o.units_ordered > 0
                AND o.units_filled = o.units_ordered) AS orders_filled,
    if(settled_orders > 0, round(orders_filled / settled_orders, 4), NULL) AS order_fill_rate,
    sumIf(f.sourced, o.settled) AS units_ordered,
    sumIf(if(f.handed_over, f.kept, 0), o.settled) AS units_filled,
    if(units_ordered > 0, round(units_filled / units_ordered, 4), NULL) AS fill_rate,
    countIf(f.method = 'ship') AS ship_fulfilments,
    countIf(f.method = 'ship' AND k.kind = 'store') AS ship_from_store,
    if(ship_fulfilments > 0, round(ship_from_store / ship_fulfilments, 4), NULL)
        AS ship_from_store_share,
    sumIf(f.sourced, f.method = 'ship') AS ship_units,
    sumIf(f.sourced, f.method = 'ship' AND k.kind = 'store') AS ship_from_store_units,
    if(ship_units > 0, round(ship_from_store_units / ship_units, 4), NULL)
        AS ship_from_store_unit_share,
    countIf(f.method = 'pickup' AND f.collected) AS collected,
    countIf(f.method = 'pickup' AND f.no_show) AS not_collected,
    if(collected + not_collected > 0, round(not_collected / (collected + not_collected), 4),
       NULL) AS no_show_rate,
    countIf(f.method = 'ship' AND f.shipped) AS shipped,
    quantilesExactInclusiveIf(0.5, 0.9)(
        dateDiff('microsecond', p.placed_at, f.shipped_at) / 1e6, f.method = 'ship' AND f.shipped
    ) AS to_ship,
    countIf(f.method = 'pickup' AND f.ready) AS ready_for_pickup,
    quantilesExactInclusiveIf(0.5, 0.9)(
        dateDiff('microsecond', p.placed_at, f.ready_at) / 1e6, f.method = 'pickup' AND f.ready
    ) AS to_ready"""


def order_fulfilment(
    facts: ClickHouseFacts, start: date, end: date, channel: str | None = None
) -> Answer:
    """Fill rate, split rate, ship-from-store share, pickup no-show rate and time to ship of
    the orders placed from `start` to `end`, per day and channel, per channel and overall."""
    only = " AND channel = {channel:String}" if channel else ""
    sql = f"""
        WITH placed AS (
                SELECT order_id, channel, placed_at, toDate(placed_at) AS day FROM orders FINAL
                WHERE toDate(placed_at) BETWEEN {{start:Date}} AND {{end:Date}}{only}
            ),
            made AS ({_FULFILMENTS}),
            per_order AS ({_ORDERS})
        SELECT p.day AS day, p.channel AS channel, {_FIGURES}
        FROM placed AS p
        LEFT JOIN per_order AS o ON o.order_id = p.order_id
        LEFT JOIN made AS f ON f.order_id = p.order_id
        LEFT JOIN location_catalog AS k ON k.location = f.location
        GROUP BY GROUPING SETS ((p.day, p.channel), (p.channel), ())
        ORDER BY day IS NULL, day, channel IS NULL, channel
        SETTINGS group_by_use_nulls = 1, join_use_nulls = 0"""  # noqa: S608 - bound parameters
    parameters: dict[str, Any] = {"start": start, "end": end}
    if channel:
        parameters["channel"] = channel
    return [_shaped(row) for row in facts.rows(sql, parameters)]


def _shaped(row: dict[str, Any]) -> dict[str, Any]:
    """Percentiles as named fields; an empty quantile (no fulfilment order) as nulls."""
    shaped = {k: v for k, v in row.items() if k not in ("to_ship", "to_ready")}
    for name, values, count in (
        ("time_to_ship", row["to_ship"], row["shipped"]),
        ("time_to_ready_for_pickup", row["to_ready"], row["ready_for_pickup"]),
    ):
        p50, p90 = values if count else (None, None)
        shaped[f"{name}_p50_seconds"], shaped[f"{name}_p90_seconds"] = p50, p90
    if isinstance(shaped.get("day"), date):
        shaped["day"] = shaped["day"].isoformat()
    return shaped
