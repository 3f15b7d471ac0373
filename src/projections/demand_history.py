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
import pyarrow as pa  # type: ignore[import-untyped]
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
    `kind` is one of KINDS; stock rows carry the day's net stock movement (channel ''). Each
    column a sequence or, from the query, an Arrow column."""

    kind: Sequence[str] | Any
    sku: Sequence[str] | Any
    location: Sequence[str] | Any
    channel: Sequence[str] | Any
    day: Sequence[date] | Any
    units: Sequence[float] | Any


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
    promotions: tuple[Promotion, ...] = ()  # of the SKU's product, past and scheduled

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
    """Every series' daily facts up to `to_day`, in one query, as Arrow columns."""
    db = f"`{database or client.database or 'default'}`"
    table = client.query_arrow(_QUERY.format(db=db), parameters={"to": to_day})
    kind, sku, location, channel, day, units = (table.column(n) for n in range(6))
    return DemandFacts(kind, sku, location, channel, day, units)


def read_history(
    client: Client,
    to_day: date,
    promotions: Mapping[str, Sequence[Promotion]],
    database: str | None = None,
) -> DemandHistory:
    return assemble(demand_facts(client, to_day, database), to_day, promotions)


@dataclass
class _Rows:
    """The facts as codes: each text column dictionary-encoded (hashing, not sorting)."""

    kind: NDArray[np.intp]  # index into KINDS
    sku: NDArray[np.intp]
    location: NDArray[np.intp]
    channel: NDArray[np.intp]
    day: NDArray[np.int64]  # date ordinals
    units: Floats
    skus: list[str]
    locations: list[str]
    channels: list[str]

    def keep(self, rows: NDArray[Any]) -> None:
        for name in ("kind", "sku", "location", "channel", "day", "units"):
            setattr(self, name, getattr(self, name)[rows])


def assemble(
    facts: DemandFacts, to_day: date, promotions: Mapping[str, Sequence[Promotion]]
) -> DemandHistory:
    """The series of `facts` up to `to_day`; `promotions` by SKU."""
    rows = _encoded(facts)
    rows.keep(rows.day <= to_day.toordinal())
    unplaced = _place_unmet(rows)
    if len(rows.kind) == 0:
        return DemandHistory(to_day, [], unplaced)
    # series ordered by SKU then location: codes ranked by their names
    sku_rank = _ranks(rows.skus)[rows.sku]
    location_rank = _ranks(rows.locations)[rows.location]
    combined = sku_rank * len(rows.locations) + location_rank
    series_keys, series_of = np.unique(combined, return_inverse=True)
    by_rank_sku = sorted(rows.skus)
    by_rank_location = sorted(rows.locations)
    mixes = _channel_mix(series_of, rows, len(series_keys))
    order = np.argsort(series_of, kind="stable")  # each series' facts together: no dense grid
    bounds = np.searchsorted(series_of[order], np.arange(len(series_keys) + 1))
    last = to_day.toordinal()
    series: list[SeriesHistory] = []
    for n, key in enumerate(series_keys.tolist()):
        sku = by_rank_sku[key // len(rows.locations)]
        location = by_rank_location[key % len(rows.locations)]
        mine = order[bounds[n] : bounds[n + 1]]
        begin = int(rows.day[mine].min())
        column, kind, amount = rows.day[mine] - begin, rows.kind[mine], rows.units[mine]
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
                on_promotion=promoted_days(promotions.get(sku, ()), first_day, days),
                channel_mix=mixes.get(n, {}),
                promotions=tuple(promotions.get(sku, ())),
            )
        )
    return DemandHistory(to_day, series, unplaced)


def _encoded(facts: DemandFacts) -> _Rows:
    kinds, kind_names = _codes(facts.kind)
    known = [KINDS.index(k) if k in KINDS else -1 for k in kind_names]
    if -1 in known:
        strange = sorted(set(kind_names) - set(KINDS))
        raise ValueError(f"unknown demand fact kinds {strange}; expected {KINDS}")
    sku, skus = _codes(facts.sku)
    location, locations = _codes(facts.location)
    channel, channels = _codes(facts.channel)
    return _Rows(
        kind=np.asarray(known, dtype=np.intp)[kinds] if len(kinds) else kinds,
        sku=sku,
        location=location,
        channel=channel,
        day=_ordinals(facts.day),
        units=np.asarray(_array(facts.units, pa.float64()).to_numpy(zero_copy_only=False)),
        skus=skus,
        locations=locations,
        channels=channels,
    )


def _array(values: Any, kind: Any) -> Any:
    """An Arrow array of `values` (a query's column already is one)."""
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks() if values.num_chunks else pa.array([], type=kind)
    if isinstance(values, pa.Array):
        return values
    return pa.array(values, type=kind)


def _codes(values: Any) -> tuple[NDArray[np.intp], list[str]]:
    encoded = _array(values, pa.string()).dictionary_encode()
    codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.intp)
    return codes, [str(name) for name in encoded.dictionary.to_pylist()]


def _ordinals(days: Any) -> NDArray[np.int64]:
    epoch = date(1970, 1, 1).toordinal()
    since = _array(days, pa.date32()).cast(pa.int32()).to_numpy(zero_copy_only=False)
    return np.asarray(since, dtype=np.int64) + epoch


def _ranks(names: list[str]) -> NDArray[np.int64]:
    """Each code's rank among the names sorted."""
    ranks = np.empty(len(names), dtype=np.int64)
    ranks[np.argsort(np.asarray(names, dtype=object), kind="stable")] = np.arange(len(names))
    return ranks


def _place_unmet(rows: _Rows) -> float:
    """Unmet demand of no location, spread (in `rows`) by the sales of the SKU on its channel
    in the SPREAD_DAYS before; returns the units no sales could place."""
    if "" not in rows.locations:
        return 0.0
    nowhere = rows.locations.index("")
    unmet, sold = KINDS.index(UNMET), KINDS.index(SOLD)
    homeless = np.flatnonzero((rows.kind == unmet) & (rows.location == nowhere))
    if len(homeless) == 0:
        return 0.0
    width = len(rows.channels)
    pair = rows.sku * width + rows.channel
    selling = np.flatnonzero((rows.kind == sold) & np.isin(pair, pair[homeless]))
    sales: dict[int, list[int]] = defaultdict(list)
    for i in selling.tolist():
        sales[int(pair[i])].append(i)
    placed: list[tuple[int, int, int, int, float]] = []  # sku, location, channel, day, units
    unplaced = 0.0
    for i in homeless.tolist():
        day = int(rows.day[i])
        shares: dict[int, float] = defaultdict(float)
        for j in sales.get(int(pair[i]), ()):
            if day - SPREAD_DAYS <= rows.day[j] < day:
                shares[int(rows.location[j])] += float(rows.units[j])
        total = sum(shares.values())
        if total <= 0:
            unplaced += float(rows.units[i])
            continue
        sku, channel, units = int(rows.sku[i]), int(rows.channel[i]), float(rows.units[i])
        placed += [(sku, loc, channel, day, units * part / total) for loc, part in shares.items()]
    rows.keep(np.flatnonzero(~((rows.kind == unmet) & (rows.location == nowhere))))
    if placed:
        sku_codes, location_codes, channel_codes, days, units_placed = zip(*placed, strict=True)
        rows.kind = np.concatenate([rows.kind, np.full(len(placed), unmet, dtype=np.intp)])
        rows.sku = np.concatenate([rows.sku, np.asarray(sku_codes, dtype=np.intp)])
        rows.location = np.concatenate([rows.location, np.asarray(location_codes, np.intp)])
        rows.channel = np.concatenate([rows.channel, np.asarray(channel_codes, np.intp)])
        rows.day = np.concatenate([rows.day, np.asarray(days, dtype=np.int64)])
        rows.units = np.concatenate([rows.units, np.asarray(units_placed, dtype=np.float64)])
    return unplaced


def _channel_mix(
    series_of: NDArray[np.intp], rows: _Rows, count: int
) -> dict[int, dict[str, float]]:
    sold = rows.kind == KINDS.index(SOLD)
    totals = np.zeros((count, len(rows.channels)))
    np.add.at(totals, (series_of[sold], rows.channel[sold]), rows.units[sold])
    whole = totals.sum(axis=1)
    mixes: dict[int, dict[str, float]] = {}
    for n in np.flatnonzero(whole > 0).tolist():
        mixes[n] = {
            rows.channels[c]: round(float(totals[n, c] / whole[n]), 4)
            for c in sorted(np.flatnonzero(totals[n]).tolist(), key=lambda c: rows.channels[c])
        }
    return mixes


def promoted_days(promotions: Sequence[Promotion], first_day: date, days: int) -> Flags:
    """For each of `days` days from `first_day`: whether a promotion ran that day (UTC)."""
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
