"""Fact rows straight from a stored sale, for a rebuild of the ClickHouse facts.

A sale is almost every event in a retailer's log, and the envelope a rebuild would otherwise
make of it (the stored JSON's tagged values turned plain, then parsed again by the fact
projector) cost about twice what its rows do. Here the stored values go to
`projections.facts.sold_rows`, the same function the envelope path calls, so what rows a sale
gives is written once. Anything unexpected (another tag, an upcast class, a missing field)
returns False and the caller takes the envelope path for that event; a unit test compares the
two paths on every sale of a generated log.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import orjson

from projections.facts import Rows, sold_rows

SOLD = "Stock.Sold"


def stored_sold_rows(
    rows: Rows, position: int, aggregate_id: str, version: int, data: bytes, subject: dict[str, str]
) -> bool:
    """Append the rows of a stored `Stock.Sold` (plain JSON bytes) to `rows`; False when this
    path cannot vouch for the event, with nothing appended."""
    try:
        state = orjson.loads(data)
        stamp, price, trace = state["timestamp"], state["unit_price"], state["trace"]
        if (
            "class_version" in state
            or _tag(stamp) != "datetime_iso"
            or _tag(price) != "decimal_str"
            or _tag(trace) != "trace"
        ):
            return False
        told = trace["_data_"]
        occurred, channel = told["occurred_at"], told["channel"]
        currency, allocations = state["currency"], state["allocations"]
        reservation = _reservation(state["reservation_id"])
        if (
            _tag(occurred) != "datetime_iso"
            or type(channel) is not str
            or type(currency) is not str
            or type(allocations) is not dict
            or any(type(quantity) is not int for quantity in allocations.values())
        ):
            return False
        sold_rows(
            rows,
            f"{aggregate_id}:{version}",
            position,
            occurred["_data_"],
            stamp["_data_"],
            channel,
            subject["sku"],
            subject["location"],
            currency,
            reservation,
            price["_data_"],
            allocations,
        )
    except (KeyError, TypeError, ValueError, ArithmeticError):  # InvalidOperation: a bad decimal
        return False
    return True


def _tag(value: Any) -> str | None:
    if type(value) is dict and len(value) == 2 and "_data_" in value:
        tag = value.get("_type_")
        return tag if type(tag) is str else None
    return None


def _reservation(stored: Any) -> str | None:
    """The reservation id as the envelope carries it (None, or the uuid's text)."""
    if stored is None:
        return None
    if _tag(stored) != "uuid_hex":
        raise ValueError("a reservation id that is not a stored uuid")
    return str(UUID(stored["_data_"]))
