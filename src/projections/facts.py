"""ClickHouse facts: rows for the analyst tables, a pure function of one event.

Every row carries the event id (and a line number when one event gives several rows); the
tables are ReplacingMergeTree keyed by it, so a duplicate delivery rewrites the same row and a
`FINAL` read counts it once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from events.envelope import Envelope
from projections.customer_order_facts import (
    CUSTOMER_ORDER_COLUMNS,
    CUSTOMER_ORDER_HANDLERS,
    CUSTOMER_ORDER_KEYS,
)
from projections.order_facts import ORDER_COLUMNS, ORDER_HANDLERS, ORDER_KEYS

Row = tuple[Any, ...]  # the values of a table's COLUMNS, in that order; times as ISO-8601 text
Rows = dict[str, list[Row]]

# Each table's columns, in the order its rows give them. Rows are tuples, not dicts: Arrow takes
# a table's rows column by column (zip) about twice as fast as it reads dicts key by key. Times
# stay the text the envelope carries, with its offset: Arrow parses a column of them into
# timestamps ~4x faster than Python makes and converts datetime objects.
COLUMNS: dict[str, tuple[str, ...]] = {
    "stock_movements": (
        "event_id", "position", "occurred_at", "channel", "sku", "location",
        "recorded_at", "kind", "line", "batch", "quantity", "expiry",
    ),
    "sales_lines": (
        "event_id", "position", "occurred_at", "channel", "sku", "location",
        "currency", "reservation_id", "line", "batch", "quantity", "unit_price", "amount",
    ),
    "returns": (
        "event_id", "position", "occurred_at", "channel", "sku", "location",
        "batch", "quantity", "restocked",
    ),
    "reservation_events": (
        "event_id", "reservation_id", "version", "position", "occurred_at", "kind",
        "channel", "expires_at", "units",
    ),
    "catalog_attributes": ("entity", "code", "attribute", "value", "version", "position"),
    "unmet_demand": (
        "event_id", "position", "occurred_at", "channel", "sku", "location",
        "asked", "available", "short", "reason", "command",
    ),
    **ORDER_COLUMNS,
    **CUSTOMER_ORDER_COLUMNS,
}  # fmt: skip
# Each table's ReplacingMergeTree key: rows with the same key are one fact (the last version).
KEYS: dict[str, tuple[str, ...]] = {
    "stock_movements": ("event_id", "line"),
    "sales_lines": ("event_id", "line"),
    "returns": ("event_id",),
    "reservation_events": ("event_id",),
    "catalog_attributes": ("entity", "code", "attribute"),
    "unmet_demand": ("event_id",),
    **ORDER_KEYS,
    **CUSTOMER_ORDER_KEYS,
}
TABLES = tuple(KEYS)

Handler = Callable[[Envelope, Rows], None]  # appends the event's rows to each table's list


def no_rows() -> Rows:
    return {table: [] for table in TABLES}


def batch_rows(envelopes: Iterable[Envelope], rows: Rows | None = None) -> Rows:
    """The rows of every envelope, appended to `rows` (new lists if not given)."""
    rows = no_rows() if rows is None else rows
    handlers = _HANDLERS
    for envelope in envelopes:
        handler = handlers.get(envelope.type)
        if handler is not None:
            handler(envelope, rows)
    return rows


def as_dicts(rows: Rows) -> dict[str, list[dict[str, Any]]]:
    """The rows as dicts keyed by column name (for reading them, as tests do)."""
    return {
        table: [dict(zip(COLUMNS[table], row, strict=True)) for row in found]
        for table, found in rows.items()
    }


def _movement(e: Envelope, rows: Rows, kind: str, lines: list[tuple[str, int, str | None]]) -> None:
    trace, subject = e.payload["trace"], e.subject
    occurred_at, recorded_at = trace["occurred_at"], e.timestamp
    rows["stock_movements"] += [
        (
            e.event_id, e.position, occurred_at, trace["channel"], subject["sku"],
            subject["location"], recorded_at, kind, i, batch, quantity,
            date.fromisoformat(expiry) if expiry else None,
        )
        for i, (batch, quantity, expiry) in enumerate(lines)
    ]  # fmt: skip


def _allocated(allocations: dict[str, int], sign: int) -> list[tuple[str, int, str | None]]:
    return [(batch, sign * allocations[batch], None) for batch in sorted(allocations)]


def _received(e: Envelope, rows: Rows) -> None:
    p = e.payload
    _movement(e, rows, "received", [(p["batch"], p["quantity"], p["expiry"])])


def _sold(e: Envelope, rows: Rows) -> None:
    p, trace, subject = e.payload, e.payload["trace"], e.subject
    sold_rows(
        rows, e.event_id, e.position, trace["occurred_at"], e.timestamp, trace["channel"],
        subject["sku"], subject["location"], p["currency"], p["reservation_id"],
        p["unit_price"], p["allocations"],
    )  # fmt: skip


def sold_rows(
    rows: Rows,
    event_id: str,
    position: int,
    occurred_at: str,
    recorded_at: str,
    channel: str,
    sku: str,
    location: str,
    currency: str,
    reservation_id: str | None,
    unit_price: str,
    allocations: dict[str, int],
) -> None:
    """A sale's rows: a movement and a sales line per batch it took from. The commonest event,
    so its rows are written out; a rebuild calls it straight from the stored event too."""
    price = Decimal(unit_price)
    reservation = reservation_id or ""
    movements, sales = rows["stock_movements"], rows["sales_lines"]
    for i, batch in enumerate(sorted(allocations)):
        quantity = allocations[batch]
        movements.append(
            (
                event_id, position, occurred_at, channel, sku, location, recorded_at, "sold", i,
                batch, -quantity, None,
            )
        )  # fmt: skip
        sales.append(
            (
                event_id, position, occurred_at, channel, sku, location, currency, reservation, i,
                batch, quantity, price, price * quantity,
            )
        )  # fmt: skip


def _returned(e: Envelope, rows: Rows) -> None:
    p, trace, subject = e.payload, e.payload["trace"], e.subject
    _movement(e, rows, "returned", [(p["batch"], p["quantity"], p["expiry"])] * p["restocked"])
    rows["returns"].append(
        (
            e.event_id, e.position, trace["occurred_at"], trace["channel"],
            subject["sku"], subject["location"], p["batch"], p["quantity"], int(p["restocked"]),
        )
    )  # fmt: skip


def _adjusted(e: Envelope, rows: Rows) -> None:
    _movement(e, rows, "adjusted", [(e.payload["batch"], e.payload["delta"], None)])


def _transferred_out(e: Envelope, rows: Rows) -> None:
    _movement(e, rows, "transferred_out", _allocated(e.payload["allocations"], -1))


def _transferred_in(e: Envelope, rows: Rows) -> None:
    batches = e.payload["batches_in"]
    lines = [(n, batches[n]["quantity"], batches[n]["expiry"]) for n in sorted(batches)]
    _movement(e, rows, "transferred_in", lines)


def _reservation(kind: str) -> Handler:
    def handler(e: Envelope, rows: Rows) -> None:
        p = e.payload
        lines = p.get("lines", [])
        rows["reservation_events"].append(
            (
                e.event_id, e.aggregate_id, e.version, e.position,
                p["trace"]["occurred_at"], kind, p["trace"]["channel"], p.get("expires_at"),
                sum(int(line["quantity"]) for line in lines),
            )
        )  # fmt: skip

    return handler


def _unmet_demand(e: Envelope, rows: Rows) -> None:
    """A refusal for lack of stock (domain/unmet_demand.py): what was asked, what the ledger
    had, the units short."""
    p = e.payload
    rows["unmet_demand"].append(
        (
            e.event_id, e.position, p["trace"]["occurred_at"], p["channel"], p["sku"],
            p["location"], p["asked"], p["available"], p["short"], p["reason"], p["command"],
        )
    )  # fmt: skip


def _attributes(
    entity: str, code_field: str, pick: Callable[[dict[str, Any]], dict[str, Any]]
) -> Handler:
    def handler(e: Envelope, rows: Rows) -> None:
        code = e.subject[code_field]
        rows["catalog_attributes"] += [
            (entity, code, name, str(value), e.version, e.position)
            for name, value in sorted(pick(e.payload).items())
        ]

    return handler


def _both(first: Handler, second: Handler) -> Handler:
    def handler(e: Envelope, rows: Rows) -> None:
        first(e, rows)
        second(e, rows)

    return handler


def _sku_defined(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "product_code": p["product_code"],
        "price": p["price"],
        "currency": p["currency"],
        "discontinued": 0,
        **{f"attribute.{k}": v for k, v in p["attributes"].items()},
    }


_HANDLERS: dict[str, Handler] = {
    "Stock.BatchReceived": _received,
    "Stock.Sold": _sold,
    "Stock.Returned": _returned,
    "Stock.Adjusted": _adjusted,
    "Stock.TransferredOut": _transferred_out,
    "Stock.TransferredIn": _transferred_in,
    "Stock.TransferReceived": _transferred_in,  # units in transit count once they arrive
    "Reservation.Placed": _reservation("placed"),
    "Reservation.Confirmed": _reservation("confirmed"),
    "Reservation.Released": _reservation("released"),
    "Reservation.Expired": _reservation("expired"),
    "Reservation.ConvertedToOrder": _reservation("ordered"),
    "Product.Defined": _attributes(
        "product", "product_code", lambda p: {**p["details"], "discontinued": 0}
    ),
    "Product.Changed": _attributes("product", "product_code", lambda p: p["changes"]),
    "Product.Discontinued": _attributes("product", "product_code", lambda _: {"discontinued": 1}),
    "Sku.Defined": _attributes("sku", "sku", _sku_defined),
    "Sku.Repriced": _attributes(
        "sku", "sku", lambda p: {"price": p["price"], "currency": p["currency"]}
    ),
    "Sku.Discontinued": _attributes("sku", "sku", lambda _: {"discontinued": 1}),
    "Location.Registered": _attributes("location", "code", lambda p: {"kind": p["kind"]}),
    "UnmetDemand.Recorded": _unmet_demand,
    **ORDER_HANDLERS,
    # an order placed for a customer is also their purchase (projections/customer_order_facts.py)
    "Order.Placed": _both(ORDER_HANDLERS["Order.Placed"], CUSTOMER_ORDER_HANDLERS["Order.Placed"]),
}
