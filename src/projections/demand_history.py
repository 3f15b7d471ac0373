"""Demand history per SKU x location x day, from the ClickHouse facts: units sold, returned and
refused for lack of stock (unmet), whether the day was a stock-out, whether the SKU was on
promotion, and the channel mix of its sales. What `glow forecast run` learns from.

One SQL query a run reads every series' daily facts (`demand_facts`); the series are then
assembled in numpy (`assemble`), so 10,000 series cost one scan, not 10,000 queries. The same
assembly takes facts from anywhere (the demo business's happenings in tests).

- A series starts on its SKU's first day at the location (its first sale, return, unmet demand
  or stock movement there) and runs densely to the history's last day: quiet days are zeros.
- Stock at a day's end is the running sum of the location's stock movements (received, sold,
  returned to stock, adjusted, transferred). A day is a stock-out when that stock is not above
  zero, or when unmet demand was recorded. It was out *all day* when the stock was not above
  zero at the previous day's end either and nothing sold. A series with no stock movements
  (facts from elsewhere) has no stock-out days but those with unmet demand.
- Unmet demand no location could be named for (location '') is spread over the locations that
  sold the SKU on that channel in the 28 days before, by their share of those sales; with no
  such sales it stays unplaced (counted in `DemandHistory.unplaced_unmet`).
- On promotion: a promotion of the SKU's product (the ledger's `Product` promotions; the facts
  do not hold them) overlaps the day, on any channel.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from domain.promotions import Promotion

if TYPE_CHECKING:  # its clients load only where facts are configured
    from clickhouse_connect.driver.client import Client

SOLD, RETURNED, UNMET, STOCK = "sold", "returned", "unmet", "stock"
KINDS = (RETURNED, SOLD, STOCK, UNMET)  # sorted
SPREAD_DAYS = 28  # unmet demand of no location: spread by the sales of the 28 days before

Floats = NDArray[np.float64]
Flags = NDArray[np.bool_]


@dataclass(frozen=True)
class DemandFacts:
    """Daily facts, one entry per (kind, sku, location, channel, day): the units of that kind.
    `kind` is one of KINDS; stock rows carry the day's net stock movement (channel '')."""

    kind: Sequence[str]
    sku: Sequence[str]
    location: Sequence[str]
    channel: Sequence[str]
    day: Sequence[date]
    units: Sequence[float]


@dataclass(frozen=True)
class SeriesHistory:
    """One SKU at one location, day by day from `first_day` (arrays of equal length)."""

    sku: str
    location: str
    first_day: date
    sold: Floats
    returned: Floats
    unmet: Floats
    stock_out: Flags  # no sellable stock at the day's end, or unmet demand recorded
    out_all_day: Flags  # no stock at the previous day's end nor this one's, nothing sold
    on_promotion: Flags
    channel_mix: dict[str, float] = field(default_factory=dict)  # share of units sold

    @property
    def days(self) -> int:
        return len(self.sold)

    def day(self, index: int) -> date:
        return self.first_day + timedelta(days=index)


@dataclass(frozen=True)
class DemandHistory:
    to_day: date  # the last day of every series
    series: list[SeriesHistory]
    unplaced_unmet: float  # unmet units of no location that no recent sales could place


_QUERY = """
SELECT 'sold' AS kind, sku, toString(location) AS location, toString(channel) AS channel,
       toDate(occurred_at) AS day, toFloat64(sum(quantity)) AS units
FROM {db}.sales_lines FINAL WHERE toDate(occurred_at) <= {{to:Date}}
GROUP BY sku, location, channel, day
UNION ALL
SELECT 'returned', sku, toString(location), toString(channel), toDate(occurred_at),
       toFloat64(sum(quantity))
FROM {db}.returns FINAL WHERE toDate(occurred_at) <= {{to:Date}}
GROUP BY sku, location, channel, toDate(occurred_at)
UNION ALL
SELECT 'unmet', sku, toString(location), toString(channel), toDate(occurred_at),
       toFloat64(sum(short))
FROM {db}.unmet_demand FINAL WHERE toDate(occurred_at) <= {{to:Date}} AND short > 0
GROUP BY sku, location, channel, toDate(occurred_at)
UNION ALL
SELECT 'stock', sku, toString(location), '', toDate(occurred_at), toFloat64(sum(quantity))
FROM {db}.stock_movements FINAL WHERE toDate(occurred_at) <= {{to:Date}}
GROUP BY sku, location, toDate(occurred_at)
"""


def last_fact_day(client: Client, database: str | None = None) -> date | None:
    """The latest day with a sale, return, unmet demand or stock movement (None: no facts)."""
    db = f"`{database or client.database or 'default'}`"
    days = " UNION ALL ".join(
        f"SELECT max(toDate(occurred_at)) AS d, count() AS n FROM {db}.{table}"  # noqa: S608
        for table in ("sales_lines", "returns", "unmet_demand", "stock_movements")
    )
    rows = client.query(f"SELECT max(d), sum(n) FROM ({days}) WHERE n > 0").result_rows  # noqa: S608
    if not rows or not rows[0][1]:
        return None
    found = rows[0][0]
    return found if isinstance(found, date) else None


def demand_facts(client: Client, to_day: date, database: str | None = None) -> DemandFacts:
    """Every series' daily facts up to `to_day`, in one query."""
    db = f"`{database or client.database or 'default'}`"
    result = client.query(_QUERY.format(db=db), parameters={"to": to_day})
    columns: list[Sequence[Any]] = list(result.result_columns) or [[] for _ in range(6)]
    kind, sku, location, channel, day, units = columns
    return DemandFacts(kind, sku, location, channel, day, units)


def read_history(
    client: Client,
    to_day: date,
    promotions: Mapping[str, Sequence[Promotion]],
    database: str | None = None,
) -> DemandHistory:
    return assemble(demand_facts(client, to_day, database), to_day, promotions)


def assemble(
    facts: DemandFacts, to_day: date, promotions: Mapping[str, Sequence[Promotion]]
) -> DemandHistory:
    """The series of `facts` up to `to_day`; `promotions` by SKU."""
    kinds = np.asarray(facts.kind, dtype=object)
    if len(kinds) == 0:
        return DemandHistory(to_day, [], 0.0)
    ordinals = np.fromiter((d.toordinal() for d in facts.day), dtype=np.int64, count=len(kinds))
    units = np.asarray(facts.units, dtype=np.float64)
    skus = np.asarray(facts.sku, dtype=object)
    locations = np.asarray(facts.location, dtype=object)
    channels = np.asarray(facts.channel, dtype=object)
    keep = ordinals <= to_day.toordinal()
    kinds, ordinals, units = kinds[keep], ordinals[keep], units[keep]
    skus, locations, channels = skus[keep], locations[keep], channels[keep]

    placed, unplaced = _place_unmet(kinds, skus, locations, channels, ordinals, units)
    if placed:
        extra_sku, extra_location, extra_channel, extra_day, extra_units = zip(*placed, strict=True)
        kinds = np.concatenate([kinds, np.full(len(placed), UNMET, dtype=object)])
        skus = np.concatenate([skus, np.asarray(extra_sku, dtype=object)])
        locations = np.concatenate([locations, np.asarray(extra_location, dtype=object)])
        channels = np.concatenate([channels, np.asarray(extra_channel, dtype=object)])
        ordinals = np.concatenate([ordinals, np.asarray(extra_day, dtype=np.int64)])
        units = np.concatenate([units, np.asarray(extra_units, dtype=np.float64)])
    named = ~((kinds == UNMET) & (locations == ""))
    kinds, skus, locations = kinds[named], skus[named], locations[named]
    channels, ordinals, units = channels[named], ordinals[named], units[named]
    if len(kinds) == 0:
        return DemandHistory(to_day, [], unplaced)

    keys = np.char.add(np.char.add(skus.astype(str), "\x1f"), locations.astype(str))
    series_keys, series_of = np.unique(keys, return_inverse=True)
    kind_of = np.searchsorted(np.asarray(KINDS), kinds.astype(str))  # KINDS is sorted
    mixes = _channel_mix(series_of[kinds == SOLD], channels[kinds == SOLD], units[kinds == SOLD])
    order = np.argsort(series_of, kind="stable")  # each series' facts together: no dense grid
    bounds = np.searchsorted(series_of[order], np.arange(len(series_keys) + 1))
    last = to_day.toordinal()
    series: list[SeriesHistory] = []
    for n, key in enumerate(series_keys):
        sku, location = str(key).split("\x1f", 1)
        rows = order[bounds[n] : bounds[n + 1]]
        begin = int(ordinals[rows].min())
        column, kind, amount = ordinals[rows] - begin, kind_of[rows], units[rows]
        days = last - begin + 1
        daily = {
            name: np.asarray(
                np.bincount(column[kind == k], amount[kind == k], minlength=days), np.float64
            )
            for k, name in enumerate(KINDS)
        }
        sold, unmet = daily[SOLD], daily[UNMET]
        if (kind == KINDS.index(STOCK)).any():
            empty = np.cumsum(daily[STOCK]) <= 0  # no stock at the day's end
            empty_before = np.concatenate([[True], empty[:-1]])
            out_all_day = empty & empty_before & (sold <= 0)
        else:  # no stock movement known: out only where demand was refused
            empty = out_all_day = np.zeros(days, dtype=bool)
        first_day = date.fromordinal(begin)
        series.append(
            SeriesHistory(
                sku=sku,
                location=location,
                first_day=first_day,
                sold=sold,
                returned=daily[RETURNED],
                unmet=unmet,
                stock_out=empty | (unmet > 0),
                out_all_day=out_all_day,
                on_promotion=_promoted(promotions.get(sku, ()), first_day, days),
                channel_mix=mixes.get(n, {}),
            )
        )
    return DemandHistory(to_day, series, unplaced)


def _place_unmet(
    kinds: NDArray[Any],
    skus: NDArray[Any],
    locations: NDArray[Any],
    channels: NDArray[Any],
    ordinals: NDArray[np.int64],
    units: Floats,
) -> tuple[list[tuple[str, str, str, int, float]], float]:
    """Unmet demand of no location, spread by the sales of the SKU on its channel in the
    SPREAD_DAYS before; what no sales can place is returned as a total."""
    homeless = np.flatnonzero((kinds == UNMET) & (locations == ""))
    if len(homeless) == 0:
        return [], 0.0
    wanted = {(skus[i], channels[i]) for i in homeless}
    sales: dict[tuple[str, str], list[tuple[int, str, float]]] = defaultdict(list)
    for i in np.flatnonzero(kinds == SOLD):
        if (skus[i], channels[i]) in wanted:
            sales[(skus[i], channels[i])].append((int(ordinals[i]), locations[i], units[i]))
    placed: list[tuple[str, str, str, int, float]] = []
    unplaced = 0.0
    for i in homeless:
        day = int(ordinals[i])
        shares: dict[str, float] = defaultdict(float)
        for sold_on, location, sold in sales.get((skus[i], channels[i]), ()):
            if day - SPREAD_DAYS <= sold_on < day:
                shares[location] += sold
        total = sum(shares.values())
        if total <= 0:
            unplaced += float(units[i])
            continue
        placed += [
            (str(skus[i]), loc, str(channels[i]), day, float(units[i]) * part / total)
            for loc, part in sorted(shares.items())
        ]
    return placed, unplaced


def _channel_mix(
    series_of: NDArray[np.intp], channels: NDArray[Any], units: Floats
) -> dict[int, dict[str, float]]:
    totals: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for n, channel, sold in zip(series_of.tolist(), channels.tolist(), units.tolist(), strict=True):
        totals[n][str(channel)] += sold
    mixes: dict[int, dict[str, float]] = {}
    for n, by_channel in totals.items():
        whole = sum(by_channel.values())
        if whole > 0:
            mixes[n] = {c: round(u / whole, 4) for c, u in sorted(by_channel.items())}
    return mixes


def _promoted(promotions: Sequence[Promotion], first_day: date, days: int) -> Flags:
    flags = np.zeros(days, dtype=bool)
    for promotion in promotions:
        start = _day_index(promotion.starts, first_day)
        end = _day_index(promotion.ends - timedelta(microseconds=1), first_day)
        if end >= 0 and start < days:
            flags[max(start, 0) : min(end, days - 1) + 1] = True
    return flags


def _day_index(moment: datetime, first_day: date) -> int:
    """The day (UTC) of `moment`, counted from `first_day`."""
    day = moment.astimezone(UTC).date() if moment.tzinfo else moment.date()
    return day.toordinal() - first_day.toordinal()
