"""Fact rows straight from a stored sale, for a rebuild of the ClickHouse facts.

A sale is almost every event in a retailer's log, and the envelope a rebuild would otherwise
make of it (the stored JSON parsed into dicts, its tagged values turned plain) cost more than
its rows do. Here msgspec decodes only the fields a sale's rows need, typed and checked in one
pass (~2x faster than orjson's dicts), and hands them to `projections.facts.sold_rows`, the
same function the envelope path calls, so what rows a sale gives is written once. Anything
unexpected (another tag or type, an upcast class, a missing field) returns False and the
caller takes the envelope path for that event; a unit test compares the two paths on every
sale of a log with odd values in it.
"""

from __future__ import annotations

from uuid import UUID

import msgspec

from projections.facts import Rows, sold_rows
from streams.stored_json import plain_moment

SOLD = "Stock.Sold"


class _Tagged(msgspec.Struct):
    """A value eventsourcing's transcoder stored with a tag: {"_type_": ..., "_data_": ...}."""

    tag: str = msgspec.field(name="_type_")
    data: str = msgspec.field(name="_data_")


class _Told(msgspec.Struct):
    channel: str
    occurred_at: _Tagged


class _Trace(msgspec.Struct):
    tag: str = msgspec.field(name="_type_")
    data: _Told = msgspec.field(name="_data_")


class _StoredSale(msgspec.Struct):
    """The fields of a stored `Stock.Sold` its rows need (the others are skipped unread)."""

    timestamp: _Tagged
    reservation_id: _Tagged | None
    allocations: dict[str, int]
    unit_price: _Tagged
    currency: str
    trace: _Trace
    class_version: int | None = None


_decode = msgspec.json.Decoder(_StoredSale).decode


def stored_sold_rows(
    rows: Rows, position: int, aggregate_id: str, version: int, data: bytes, subject: dict[str, str]
) -> bool:
    """Append the rows of a stored `Stock.Sold` (plain JSON bytes) to `rows`; False when this
    path cannot vouch for the event, with nothing appended."""
    try:
        sale = _decode(data)
        stamp, price, trace = sale.timestamp, sale.unit_price, sale.trace
        occurred = trace.data.occurred_at
        if (
            sale.class_version is not None
            or stamp.tag != "datetime_iso"
            or price.tag != "decimal_str"
            or trace.tag != "trace"
            or occurred.tag != "datetime_iso"
        ):
            return False
        sold_rows(
            rows,
            f"{aggregate_id}:{version}",
            position,
            plain_moment(occurred.data),  # the envelope's text for it, as the live path has
            plain_moment(stamp.data),
            trace.data.channel,
            subject["sku"],
            subject["location"],
            sale.currency,
            _reservation(sale.reservation_id),
            price.data,
            sale.allocations,
        )
    except (msgspec.DecodeError, KeyError, ValueError, ArithmeticError):  # Decimal: Invalid...
        return False
    return True


def _reservation(stored: _Tagged | None) -> str | None:
    """The reservation id as the envelope carries it (None, or the uuid's text)."""
    if stored is None:
        return None
    if stored.tag != "uuid_hex":
        raise ValueError("a reservation id that is not a stored uuid")
    return str(UUID(stored.data))
