"""Stock availability projected into the hot views: as fresh as the read model, which may be
behind the ledger (the strongly consistent stock is service_layer/ledger_queries.py's)."""

from __future__ import annotations

from datetime import date
from typing import Any

from projections.availability import availability, total
from projections.hot_view_store import HotViewStore
from projections.hot_views import SKU_LOCATIONS


def at_location(store: HotViewStore, sku: str, location: str, today: date) -> dict[str, Any] | None:
    found = store.read([f"stock:{sku}@{location}"])[f"stock:{sku}@{location}"]
    return availability(found, today) if found else None


def across_locations(store: HotViewStore, skus: list[str], today: date) -> list[dict[str, Any]]:
    """Per SKU, summed over the locations that hold it (one read for all SKUs asked)."""
    places = {sku: store.members(SKU_LOCATIONS + sku) for sku in skus}
    keys = [f"stock:{sku}@{loc}" for sku in skus for loc in places[sku]]
    documents = store.read(keys)
    return [
        total(
            sku,
            [
                availability(doc, today)
                for loc in places[sku]
                if (doc := documents[f"stock:{sku}@{loc}"]) is not None
            ],
        )
        for sku in skus
    ]


def nearest_with_stock(
    store: HotViewStore,
    sku: str,
    latitude: float,
    longitude: float,
    quantity: int,
    today: date,
    radius_km: float = 20_000,
) -> dict[str, Any] | None:
    """The nearest location with at least `quantity` available, with its distance order."""
    holding = set(store.members(SKU_LOCATIONS + sku))
    for code in store.nearest(longitude, latitude, radius_km):
        if code in holding:
            found = at_location(store, sku, code, today)
            if found is not None and found["available"] >= quantity:
                return found
    return None
