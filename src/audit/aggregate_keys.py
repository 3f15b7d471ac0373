"""From the names auditors use (a SKU at a location, a product code) to aggregate ids."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from audit.errors import InvalidAuditQueryError
from domain import ids
from domain import replenishment as r


def _stock(key: str) -> UUID:
    sku, at, location = key.rpartition("@")
    if not at or not sku or not location:
        raise InvalidAuditQueryError(f"a stock key is SKU@LOCATION, got {key!r}")
    return ids.stock_id(sku, location)


def _preorder_switch(key: str) -> UUID:
    sku, at, channel = key.rpartition("@")
    if not at or not sku or not channel:
        raise InvalidAuditQueryError(f"a pre-order switch key is SKU@CHANNEL, got {key!r}")
    return ids.preorder_switch_id(sku, channel)


def _replenishment_policy(key: str) -> UUID:
    sku, at, location = key.rpartition("@")
    if not at or not sku or not location:
        raise InvalidAuditQueryError(f"a replenishment policy key is SKU@LOCATION, got {key!r}")
    return r.policy_id(sku, location)


def _uuid(key: str) -> UUID:
    try:
        return UUID(key)
    except ValueError:
        raise InvalidAuditQueryError(f"{key!r} is not a UUID") from None


KINDS: dict[str, Callable[[str], UUID]] = {
    "stock": _stock,
    "reservation": _uuid,
    "product": ids.product_id,
    "sku": ids.sku_id,
    "location": ids.location_id,
    "order": _uuid,
    "preorder": _uuid,
    "preorder-switch": _preorder_switch,
    "channel": ids.sales_channel_id,
    "kit": ids.kit_id,
    "unmet-demand": _uuid,  # a refusal for lack of stock (domain/unmet_demand.py)
    "suggestion": _uuid,
    "replenishment-book": r.book_id,
    "replenishment-policy": _replenishment_policy,
    "aggregate": _uuid,
}


def aggregate_id(kind: str, key: str) -> UUID:
    """`kind` is one of KINDS: stock takes SKU@LOCATION, reservation and aggregate a UUID."""
    try:
        resolve = KINDS[kind]
    except KeyError:
        raise InvalidAuditQueryError(
            f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}"
        ) from None
    return resolve(key)
