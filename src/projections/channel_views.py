"""Hot views of what a channel may sell and what a kit is made of: one document per sales
channel (`channel:<name>`: where it sells from, its safety buffers and ring-fenced pools per
SKU, its minimum shelf life and sourcing rules) and per kit (`kit:<sku>`: its components).
Pure, as every hot-view handler: a document and an event in, the document changed in place.

The documents follow the aggregates' own `as_dict` (domain/channel_rules.py, domain/kits.py),
so a channel's available-to-sell reads the same rules from either (projections/
channel_availability.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from domain.sourcing import NEAREST
from events.envelope import Envelope

if TYPE_CHECKING:  # hot_views imports this module to register its handlers
    from projections.hot_views import Document, IndexOp

RULE_KINDS = ("SalesChannel", "Kit")


def rule_view_key(kind: str, subject: dict[str, str]) -> str:
    """`channel:<name>` for a SalesChannel's events, `kit:<sku>` for a Kit's."""
    return f"channel:{subject['channel']}" if kind == "SalesChannel" else f"kit:{subject['sku']}"


def _opened(doc: Document, p: dict[str, Any], _: Envelope) -> list[IndexOp]:
    doc.update(
        channel=p["channel"],
        locations=None,  # None: every location
        safety_buffers={},
        ring_fenced_pools={},
        min_shelf_life_days=0,
        strategy=NEAREST,
        priority=[],
        ship_from_store=True,
        split_allowed=True,
    )
    return []


def _locations_set(doc: Document, p: dict[str, Any], _: Envelope) -> list[IndexOp]:
    doc["locations"] = None if p["locations"] is None else list(p["locations"])
    return []


def _per_sku(field: str) -> Callable[[Document, dict[str, Any], Envelope], list[IndexOp]]:
    """A buffer or pool of `units` per SKU; 0 takes it away (as the aggregate keeps them)."""

    def set_units(doc: Document, p: dict[str, Any], _: Envelope) -> list[IndexOp]:
        units = {**doc[field], p["sku"]: p["units"]}
        doc[field] = {sku: n for sku, n in units.items() if n}
        return []

    return set_units


def _shelf_life_set(doc: Document, p: dict[str, Any], _: Envelope) -> list[IndexOp]:
    doc["min_shelf_life_days"] = p["days"]
    return []


def _sourcing_set(doc: Document, p: dict[str, Any], _: Envelope) -> list[IndexOp]:
    doc.update({k: p[k] for k in ("strategy", "priority", "ship_from_store", "split_allowed")})
    return []


def _kit_defined(doc: Document, p: dict[str, Any], _: Envelope) -> list[IndexOp]:
    doc.update(sku=p["sku"], components=dict(p["components"]))
    return []


def _kit_recomposed(doc: Document, p: dict[str, Any], _: Envelope) -> list[IndexOp]:
    doc["components"] = dict(p["components"])
    return []


RULE_HANDLERS: dict[str, Callable[[Document, dict[str, Any], Envelope], list[IndexOp]]] = {
    "SalesChannel.Opened": _opened,
    "SalesChannel.SellingLocationsSet": _locations_set,
    "SalesChannel.SafetyBufferSet": _per_sku("safety_buffers"),
    "SalesChannel.RingFencedPoolSet": _per_sku("ring_fenced_pools"),
    "SalesChannel.MinimumShelfLifeSet": _shelf_life_set,
    "SalesChannel.SourcingStrategySet": _sourcing_set,
    "Kit.Defined": _kit_defined,
    "Kit.Recomposed": _kit_recomposed,
}
