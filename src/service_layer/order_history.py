"""Orders read from the order hot view, with how far it is behind the ledger: a listing page,
a customer's history (newest first, theirs and that of anyone merged into them), the whole of
it for a data-subject export. Forgetting a customer drops their index on the read side, when
the customer log's `Customer.Forgotten` is projected (projections/erasure.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from projections import order_listing
from projections.hot_view_store import HotViewStore
from projections.order_listing import OrderFilter
from service_layer.read_side import ReadSide
from streams.embedded_driver import CONSUMER

EXPORT_PAGE = 200


def freshness(side: ReadSide, store: HotViewStore) -> dict[str, int]:
    position, head = store.position(CONSUMER), side.head()
    return {"position": position, "head": head, "behind": max(head - position, 0)}


def listed(
    side: ReadSide,
    store: HotViewStore,
    wanted: OrderFilter,
    after: int | None,
    limit: int,
    *,
    newest_first: bool = False,
) -> dict[str, Any]:
    log = freshness(side, store)  # read first: the page is at least this fresh
    found = order_listing.orders(store, wanted, after, limit, newest_first=newest_first)
    return {**found, "source": "projected", "log": log}


def nothing_listed(side: ReadSide, store: HotViewStore) -> dict[str, Any]:
    """The page a filter that admits no order gets (a forgotten customer's history)."""
    return {"orders": [], "next_after": None, "source": "projected", "log": freshness(side, store)}


def every_order_of(
    side: ReadSide, store: HotViewStore, customer_ids: Sequence[str]
) -> dict[str, Any]:
    """All of a customer's orders, newest first (for the export), and the view's lag."""
    log = freshness(side, store)
    if not customer_ids:
        return {"orders": [], "source": "projected", "log": log}
    wanted = OrderFilter(customer_ids=tuple(customer_ids))
    found: list[dict[str, Any]] = []
    after: int | None = None
    while True:
        page = order_listing.orders(store, wanted, after, EXPORT_PAGE, newest_first=True)
        found += page["orders"]
        after = page["next_after"]
        if after is None:
            return {"orders": found, "source": "projected", "log": log}
