"""Orders listed from the order hot view: by channel, customer, status or location, a page at a
time, oldest first (a customer's history newest first). The cursor is the log position the
last order listed was placed at: each index is scored by it, so a page starts strictly past it.

One index is walked (the narrowest the filter names) and the other filters are checked on the
documents read; a page reads at most `MAX_SCANNED` documents, so a filter that matches rarely
answers fewer orders and a cursor to go on from, never a long scan."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from projections.hot_view_store import HotViewStore
from projections.order_views import (
    AT_LOCATION,
    BY_CHANNEL,
    BY_CUSTOMER,
    BY_STATUS,
    ORDERS,
    places,
)

Document = dict[str, Any]
MAX_SCANNED = 1000


@dataclass(frozen=True)
class OrderFilter:
    channel: str | None = None
    customer_ids: tuple[str, ...] = ()  # a customer and those merged into them
    status: str | None = None
    location: str | None = None  # store staff: a fulfilment order there, or the pickup

    def indexes(self) -> list[str]:
        """The narrowest index(es) that hold every order this filter admits."""
        if self.customer_ids:
            return [BY_CUSTOMER + customer for customer in self.customer_ids]
        if self.location is not None:
            return [AT_LOCATION + self.location]
        if self.status is not None:
            return [BY_STATUS + self.status]
        if self.channel is not None:
            return [BY_CHANNEL + self.channel]
        return [ORDERS]

    def admits(self, doc: Document) -> bool:
        return (
            self.channel in (None, doc["channel"])
            and (not self.customer_ids or doc["customer_id"] in self.customer_ids)
            and self.status in (None, doc["status"])
            and (self.location is None or self.location in places(doc))
        )


def orders(
    store: HotViewStore,
    wanted: OrderFilter,
    after: int | None,
    limit: int,
    *,
    newest_first: bool = False,
) -> dict[str, Any]:
    """Up to `limit` orders past the cursor `after`, and `next_after`: the cursor to go on
    from (None when the index is read to its end)."""
    found: list[dict[str, Any]] = []
    cursor: float | None = after
    scanned = 0
    while len(found) < limit and scanned < MAX_SCANNED:
        size = min(limit, MAX_SCANNED)
        page = _next(store, wanted.indexes(), cursor, size, newest_first)
        documents = store.read([f"order:{order_id}" for order_id, _ in page])
        for order_id, score in page:
            scanned, cursor = scanned + 1, score
            doc = documents[f"order:{order_id}"]
            if doc is not None and wanted.admits(doc):
                found.append(answer(doc))
                if len(found) == limit:
                    break
        if len(page) < size and len(found) < limit:
            return {"orders": found, "next_after": None}  # the index is read to its end
    return {"orders": found, "next_after": None if cursor is None else int(cursor)}


def _next(
    store: HotViewStore, indexes: Sequence[str], after: float | None, size: int, newest: bool
) -> list[tuple[str, float]]:
    """The next `size` members of the union of `indexes` past `after`, in order."""
    merged: dict[str, float] = {}
    for index in indexes:
        merged.update(store.ranked(index, after, size, newest_first=newest))
    ordered = sorted(merged.items(), key=lambda item: item[1], reverse=newest)
    return ordered[:size]


def forget_customers(store: HotViewStore, customer_ids: Sequence[str]) -> None:
    """Drop forgotten customers' indexes: their orders stay (by pseudonymous id, as in the
    log), but nothing lists them as anyone's history any more."""
    for customer_id in customer_ids:
        store.drop(BY_CUSTOMER + customer_id)


def answer(doc: Document) -> dict[str, Any]:
    """An order as the listing answers it: lines, fulfilment orders, payment, returns, totals."""
    lines = [{"line_id": line_id, **line} for line_id, line in doc["lines"].items()]
    open_items = [(Decimal(n["unit_price"]), n["quantity"] - n["cancelled"]) for n in lines]
    value = sum((price * items for price, items in open_items), Decimal(0))
    refunds = [Decimal(r["refund"]) for r in doc["returns"].values() if "refund" in r]
    return {
        "order_id": doc["order_id"],
        "channel": doc["channel"],
        "customer_id": doc["customer_id"],
        "status": doc["status"],
        "placed_at": doc["placed_at"],
        "placed_position": doc["placed_position"],
        "currency": doc["currency"],
        "delivery": {k: v for k, v in doc["delivery"].items() if v is not None},
        "lines": lines,
        "fulfilments": [
            {
                "fulfilment_id": fulfilment_id,
                "location": f["location"],
                "method": f["method"],
                "status": f["status"],
                "units": sum(item["quantity"] for item in f["items"]),
            }
            for fulfilment_id, f in doc["fulfilments"].items()
        ],
        "payment": doc["payment"],
        "returns": [{"rma_id": rma_id, **rma} for rma_id, rma in doc["returns"].items()],
        "totals": {
            "items": sum(items for _, items in open_items),
            "value": str(value),
            "refunded": str(sum(refunds, Decimal(0))),
        },
        "version": doc["version"],
    }
