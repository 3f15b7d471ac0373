"""Stock availability computed from a stock's hot view on the day asked about."""

from __future__ import annotations

from datetime import date
from typing import Any

from projections.hot_views import Document

QUANTITIES = (
    "on_hand",
    "reserved",
    "available",
    "quarantined",
    "recalled",
    "expired",
    "incoming",
    "in_transit",
    "preordered",
)


def is_sellable(batch: dict[str, Any], today: date) -> bool:
    return bool(batch["status"] == "active" and date.fromisoformat(batch["expiry"]) >= today)


def availability(doc: Document, today: date) -> dict[str, Any]:
    """The same figures the Stock aggregate's summary gives, read from its hot view."""
    batches = sorted(doc["batches"].items(), key=lambda item: (item[1]["expiry"], item[0]))
    lines = [
        {
            "number": number,
            **batch,
            "available": batch["on_hand"] - batch["reserved"] if is_sellable(batch, today) else 0,
        }
        for number, batch in batches
    ]
    return {
        "sku": doc["sku"],
        "location": doc["location"],
        "version": doc["version"],
        "on_hand": sum(b["on_hand"] for b in lines),
        "reserved": sum(b["reserved"] for b in lines),
        "available": sum(b["available"] for b in lines),
        "quarantined": sum(b["on_hand"] for b in lines if b["status"] == "quarantined"),
        "recalled": sum(b["on_hand"] for b in lines if b["status"] == "recalled"),
        "expired": sum(b["on_hand"] for b in lines if date.fromisoformat(b["expiry"]) < today),
        "incoming": sum(line["quantity"] for line in doc["incoming"].values()),
        "in_transit": sum(doc.get("in_transit", {}).values()),
        "preordered": sum(doc.get("waiting", {}).values()),
        "next_expiry": min((b["expiry"] for b in lines if b["available"] > 0), default=None),
        "batches": lines,
    }


def total(sku: str, locations: list[dict[str, Any]]) -> dict[str, Any]:
    """Availability summed over locations."""
    expiries = [loc["next_expiry"] for loc in locations if loc["next_expiry"]]
    return {
        "sku": sku,
        **{q: sum(loc[q] for loc in locations) for q in QUANTITIES},
        "next_expiry": min(expiries, default=None),
        "locations": locations,
    }
