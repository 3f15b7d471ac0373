"""A channel's available-to-sell, read from the hot views only: the channels' rules and kits
(projections/channel_views.py) and the stock documents of the SKUs asked (and of a kit's
components), as fresh as the read model. The same arithmetic as the ledger's answer
(domain/order_sourcing.py's `channel_availability`, read from the aggregates): over the
locations the channel may sell from, the free units of sellable batches expiring no earlier
than its minimum shelf life allows, less its safety buffer and the pools other channels
ring-fence there; a kit counts whole kits, the fewest its components allow.

Channels are the closed set the API knows (`CHANNELS`), so their rules are read by key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date

from domain.channel_rules import CHANNELS, available_to_sell
from domain.errors import UnknownSkuError
from domain.kits import kit_availability
from domain.sourcing import SourcingPolicy
from projections.availability import availability
from projections.hot_view_store import HotViewStore
from projections.hot_views import SKU_LOCATIONS, Document


def channel_available_to_sell(
    store: HotViewStore, channel: str, skus: Sequence[str], today: date
) -> dict[str, int]:
    """SKU -> the units (or whole kits) `channel` may sell now, in the order asked. Refuses
    (UnknownSkuError) naming every SKU the catalog's view lacks."""
    rules = store.read([f"channel:{name}" for name in CHANNELS])
    catalog = store.read([key for sku in skus for key in (f"sku:{sku}", f"kit:{sku}")])
    unknown = [sku for sku in skus if catalog[f"sku:{sku}"] is None]
    if unknown:
        raise unknown_skus(unknown)
    parts = {sku: _parts(sku, catalog[f"kit:{sku}"]) for sku in skus}
    stock = _stock_by_sku(store, sorted({part for made in parts.values() for part in made}))
    locations = {doc["location"] for docs in stock.values() for doc in docs}
    policy = _policy(channel, rules, locations)
    free = {
        part: available_to_sell(policy, part, [availability(d, today) for d in docs], today)
        for part, docs in stock.items()
    }
    return {sku: kit_availability(parts[sku], free) for sku in skus}


def unknown_skus(skus: Sequence[str]) -> UnknownSkuError:
    """The refusal naming every SKU asked for that the catalog lacks."""
    named = ", ".join(repr(sku) for sku in skus)
    return UnknownSkuError(
        f"no SKU {named} in the catalog: expected SKUs defined with POST /products or "
        "/products/{code}/variants",
        sku=skus[0],
        skus=list(skus),
    )


def _parts(sku: str, kit: Document | None) -> dict[str, int]:
    """A kit's components and units per kit; a plain SKU is one of itself."""
    return dict(kit["components"]) if kit is not None else {sku: 1}


def _stock_by_sku(store: HotViewStore, skus: Sequence[str]) -> dict[str, list[Document]]:
    """Each SKU's stock documents, at every location that holds it (one read for all)."""
    places = {sku: store.members(SKU_LOCATIONS + sku) for sku in skus}
    found = store.read([f"stock:{sku}@{code}" for sku in skus for code in places[sku]])
    return {
        sku: [doc for code in places[sku] if (doc := found[f"stock:{sku}@{code}"]) is not None]
        for sku in skus
    }


def _policy(
    channel: str, rules: Mapping[str, Document | None], locations: Iterable[str]
) -> SourcingPolicy:
    """The channel's rules, with what every other channel ring-fences kept back from it (as
    domain/channel_rules.py's `pools_kept_from` reads them off the aggregates)."""
    every = sorted(locations)
    kept: dict[tuple[str, str], int] = {}
    for name, other in rules.items():
        if other is None or name == f"channel:{channel}":
            continue
        for sku, units in other["ring_fenced_pools"].items():
            for code in every if other["locations"] is None else other["locations"]:
                kept[sku, code] = kept.get((sku, code), 0) + units
    own = rules.get(f"channel:{channel}")
    if own is None:
        return SourcingPolicy(channel, kept_for_others=kept)
    return SourcingPolicy(
        channel=channel,
        strategy=own["strategy"],
        priority=tuple(own["priority"]),
        ship_from_store=own["ship_from_store"],
        split_allowed=own["split_allowed"],
        min_shelf_life_days=own["min_shelf_life_days"],
        locations=None if own["locations"] is None else frozenset(own["locations"]),
        safety_buffer=dict(own["safety_buffers"]),
        kept_for_others=kept,
    )
