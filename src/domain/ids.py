"""Natural keys become uuid5 aggregate ids, so uniqueness needs no lookup."""

from __future__ import annotations

from functools import lru_cache
from uuid import UUID, uuid5

GLOWLEDGER_NAMESPACE = UUID("6f1d2c9e-3b7a-5e0f-9a51-0c4e8d2b7a13")


@lru_cache(maxsize=100_000)
def product_id(product_code: str) -> UUID:
    return uuid5(GLOWLEDGER_NAMESPACE, f"product:{product_code}")


@lru_cache(maxsize=100_000)
def sku_id(sku: str) -> UUID:
    return uuid5(GLOWLEDGER_NAMESPACE, f"sku:{sku}")


@lru_cache(maxsize=100_000)
def location_id(location_code: str) -> UUID:
    return uuid5(GLOWLEDGER_NAMESPACE, f"location:{location_code}")


@lru_cache(maxsize=100_000)
def stock_id(sku: str, location_code: str) -> UUID:
    return uuid5(GLOWLEDGER_NAMESPACE, f"stock:{sku}@{location_code}")


def location_directory_id() -> UUID:
    return uuid5(GLOWLEDGER_NAMESPACE, "directory:locations")


def selling_directory_id() -> UUID:
    return uuid5(GLOWLEDGER_NAMESPACE, "directory:selling")


@lru_cache(maxsize=100_000)
def kit_id(kit_sku: str) -> UUID:
    return uuid5(GLOWLEDGER_NAMESPACE, f"kit:{kit_sku}")


@lru_cache(maxsize=1_000)
def sales_channel_id(channel: str) -> UUID:
    return uuid5(GLOWLEDGER_NAMESPACE, f"channel:{channel}")


def fulfilment_hold_id(order_id: UUID, fulfilment_id: str) -> UUID:
    """The hold of one fulfilment order of an order on the stock of its location."""
    return uuid5(GLOWLEDGER_NAMESPACE, f"fulfilment:{order_id}:{fulfilment_id}")


@lru_cache(maxsize=100_000)
def preorder_switch_id(sku: str, channel: str) -> UUID:
    """Whether `channel` may take pre-orders of `sku` on its incoming shipments."""
    return uuid5(GLOWLEDGER_NAMESPACE, f"preorders:{sku}@{channel}")
