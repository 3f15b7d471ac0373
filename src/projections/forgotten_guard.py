"""A forgotten customer is never listed as an order's customer again: not when the order's
events reach the view after the customer log's `Customer.Forgotten` (the two logs are projected
side by side, each at its own pace), nor when a rebuild replays the orders. The customer's
tombstone document (`customer:<id>`, status `forgotten`) stays in the view; an index move onto
`orders-customer:<id>` is dropped while it says so."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from projections.customer_views import customer_view_key, is_forgotten
from projections.hot_views import ViewWrite
from projections.order_views import BY_CUSTOMER

Read = Callable[[Sequence[str]], dict[str, dict[str, Any] | None]]


def drop_forgotten_listings(read: Read, writes: Iterable[ViewWrite]) -> None:
    """Remove, in place, every move onto a forgotten customer's order index (one read of the
    customers' documents, only when a write lists an order under a customer)."""
    listing = [w for w in writes if any(op.key.startswith(BY_CUSTOMER) for op in w.indexes)]
    if not listing:
        return
    customers = {
        op.key.removeprefix(BY_CUSTOMER)
        for write in listing
        for op in write.indexes
        if op.key.startswith(BY_CUSTOMER)
    }
    documents = read(sorted(customer_view_key(c) for c in customers))
    forgotten = {c for c in customers if is_forgotten(documents.get(customer_view_key(c)))}
    if not forgotten:
        return
    unlisted = {BY_CUSTOMER + c for c in forgotten}
    for write in listing:
        write.indexes = [op for op in write.indexes if op.key not in unlisted]
