"""Analyst questions answered from the ClickHouse facts (read with FINAL, so every fact
counts once). Dates are inclusive ISO days; filters left out match everything."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # its clients (ClickHouse, Arrow) load only where facts are configured
    from projections.clickhouse_facts import ClickHouseFacts

Answer = list[dict[str, Any]]


def _filters(**values: str | None) -> tuple[str, dict[str, Any]]:
    clauses = [f"{name} = {{{name}:String}}" for name, value in values.items() if value]
    return "".join(f" AND {c}" for c in clauses), {k: v for k, v in values.items() if v}


def daily_sales(
    facts: ClickHouseFacts,
    start: date,
    end: date,
    channel: str | None = None,
    sku: str | None = None,
    location: str | None = None,
) -> Answer:
    where, params = _filters(channel=channel, sku=sku, location=location)
    sql = f"""
        SELECT toDate(occurred_at) AS day, channel, sku, location,
               sum(quantity) AS units, toString(sum(amount)) AS revenue, any(currency) AS currency
        FROM sales_lines FINAL
        WHERE toDate(occurred_at) BETWEEN {{start:Date}} AND {{end:Date}}{where}
        GROUP BY day, channel, sku, location
        ORDER BY day, channel, sku, location"""  # noqa: S608 - filters are bound parameters
    return facts.rows(sql, {"start": start, "end": end, **params})


def turnover(
    facts: ClickHouseFacts,
    start: date,
    end: date,
    sku: str | None = None,
    location: str | None = None,
) -> Answer:
    """Units sold over the average of the opening and closing stock; days of cover at the
    period's selling rate."""
    where, params = _filters(sku=sku, location=location)
    days = (end - start).days + 1
    sql = f"""
        SELECT sku, location,
               sumIf(quantity, toDate(occurred_at) < {{start:Date}}) AS opening,
               sumIf(quantity, toDate(occurred_at) <= {{end:Date}}) AS closing,
               -sumIf(quantity, kind = 'sold'
                      AND toDate(occurred_at) BETWEEN {{start:Date}} AND {{end:Date}}) AS sold,
               if(opening + closing > 0, sold / ((opening + closing) / 2), 0) AS turnover,
               if(sold > 0, closing / (sold / {{days:UInt32}}), NULL) AS days_of_cover
        FROM stock_movements FINAL
        WHERE 1 = 1{where}
        GROUP BY sku, location
        ORDER BY sku, location"""  # noqa: S608 - filters are bound parameters
    return facts.rows(sql, {"start": start, "end": end, "days": days, **params})


def expiring_batches(
    facts: ClickHouseFacts, today: date, days: int, location: str | None = None
) -> Answer:
    where, params = _filters(location=location)
    sql = f"""
        SELECT m.sku AS sku, m.location AS location, m.batch AS batch, e.batch_expiry AS expiry,
               sum(m.quantity) AS on_hand
        FROM (SELECT * FROM stock_movements FINAL WHERE 1 = 1{where}) AS m
        INNER JOIN (
            SELECT sku, batch, max(expiry) AS batch_expiry FROM stock_movements FINAL
            WHERE expiry IS NOT NULL GROUP BY sku, batch
        ) AS e ON m.sku = e.sku AND m.batch = e.batch
        GROUP BY sku, location, batch, expiry
        HAVING on_hand > 0 AND expiry BETWEEN {{today:Date}} AND {{today:Date}} + {{days:UInt32}}
        ORDER BY expiry, sku, location, batch"""  # noqa: S608 - filters are bound parameters
    return facts.rows(sql, {"today": today, "days": days, **params})


def reservation_conversion(
    facts: ClickHouseFacts, start: date, end: date, channel: str | None = None
) -> Answer:
    """Per channel, of the reservations placed in the period: how many were confirmed or
    turned into an order (converted), released or expired (abandoned), or are still open."""
    where, params = _filters(channel=channel)
    sql = f"""
        SELECT channel, count() AS placed,
               countIf(fate IN ('confirmed', 'ordered')) AS confirmed,
               countIf(fate IN ('released', 'expired')) AS abandoned,
               countIf(fate = 'expired') AS expired,
               countIf(fate = 'placed') AS open,
               round(confirmed / placed, 4) AS conversion,
               round(abandoned / placed, 4) AS abandonment
        FROM (
            SELECT reservation_id, argMax(kind, version) AS fate,
                   anyIf(channel, kind = 'placed') AS channel,
                   minIf(occurred_at, kind = 'placed') AS placed_at
            FROM reservation_events FINAL
            GROUP BY reservation_id
            HAVING countIf(kind = 'placed') = 1
        )
        WHERE toDate(placed_at) BETWEEN {{start:Date}} AND {{end:Date}}{where}
        GROUP BY channel
        ORDER BY channel"""  # noqa: S608 - filters are bound parameters
    return facts.rows(sql, {"start": start, "end": end, **params})


def sell_through(
    facts: ClickHouseFacts, start: date, end: date, product: str | None = None
) -> Answer:
    """Per product: units sold over units received in the period."""
    where, params = _filters(product_code=product)
    sql = f"""
        SELECT c.product_code AS product_code,
               sumIf(m.quantity, m.kind = 'received') AS received,
               -sumIf(m.quantity, m.kind = 'sold') AS sold,
               if(received > 0, round(sold / received, 4), NULL) AS sell_through
        FROM (SELECT * FROM stock_movements FINAL
              WHERE toDate(occurred_at) BETWEEN {{start:Date}} AND {{end:Date}}) AS m
        INNER JOIN sku_catalog AS c ON c.sku = m.sku
        WHERE 1 = 1{where}
        GROUP BY product_code
        ORDER BY product_code"""  # noqa: S608 - filters are bound parameters
    return facts.rows(sql, {"start": start, "end": end, **params})
