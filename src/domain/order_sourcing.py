"""What sourcing needs, read from the aggregates: the lines (kits named by their components),
every location, the channel's rules (and the pools other channels ring-fence), the sellable
batches of every (SKU, location). The writer's handler and the quote read through the same
functions, so a quote answers the decision placing the order would take.

Reads only (`view`): the handler then holds stock on the chosen Stock aggregates alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from typing import Protocol
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.catalog import Sku
from domain.channel_rules import SalesChannel, available_to_sell, pools_kept_from
from domain.errors import UnknownSkuError
from domain.ids import (
    kit_id,
    location_directory_id,
    location_id,
    sales_channel_id,
    selling_directory_id,
    sku_id,
    stock_id,
)
from domain.kits import Kit, kit_availability, lines_to_source
from domain.location import Location, LocationDirectory
from domain.selling_directory import SellingDirectory
from domain.sourcing import (
    Delivery,
    Place,
    SellableBatch,
    SourcingDecision,
    SourcingPolicy,
    SourcingRefusal,
    place_of,
    sellable_batches,
    source,
)
from domain.stock import Stock
from domain.unit_of_work import A


class Viewer(Protocol):
    """Aggregates by id, to read (a UnitOfWork is one; so is a read of the event store)."""

    def view(self, aggregate_id: UUID) -> Aggregate | None: ...


def viewed(viewer: Viewer, aggregate_id: UUID, kind: type[A]) -> A | None:
    found = viewer.view(aggregate_id)
    return found if isinstance(found, kind) else None


def plan(
    viewer: Viewer,
    lines: Sequence[tuple[str, str, int]],
    delivery: Delivery,
    channel: str,
    today: date,
) -> SourcingDecision | SourcingRefusal:
    """The sourcing decision for (line id, SKU, quantity) lines, from the aggregates."""
    kits = known_kits(viewer, [sku for _, sku, _ in lines])
    to_source = lines_to_source(lines, kits)
    skus = sorted({sku for line in to_source for sku, _ in line.parts()})
    places = every_place(viewer)
    candidates = StockOnHand(viewer, skus, places, today)
    policy = channel_policy(viewer, channel, places)
    return source(to_source, delivery, policy, candidates, places, today)


class StockOnHand(Mapping[tuple[str, str], Sequence[SellableBatch]]):
    """The sellable batches of every (SKU, location), each read when sourcing first asks for
    it: a decision that is served by its nearest locations reads only theirs."""

    def __init__(
        self, viewer: Viewer, skus: Sequence[str], places: Mapping[str, Place], today: date
    ) -> None:
        self.viewer, self.skus, self.places, self.today = viewer, skus, places, today
        self.read: dict[tuple[str, str], Sequence[SellableBatch]] = {}

    def __getitem__(self, key: tuple[str, str]) -> Sequence[SellableBatch]:
        found = self.read.get(key)
        if found is None:
            sku, code = key
            if sku not in self.skus or code not in self.places:
                raise KeyError(key)
            stock = viewed(self.viewer, stock_id(sku, code), Stock)
            found = self.read[key] = () if stock is None else sellable_now(stock, self.today)
        return found

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return ((sku, code) for sku in self.skus for code in self.places)

    def __len__(self) -> int:
        return len(self.skus) * len(self.places)


def known_kits(viewer: Viewer, skus: Iterable[str]) -> dict[str, Kit]:
    """The kits among catalog SKUs; an SKU the catalog lacks is refused."""
    found = listed(viewer)
    kit_skus = found.kits if found is not None else []
    kits = {}
    for sku in skus:
        if viewed(viewer, sku_id(sku), Sku) is None:
            raise UnknownSkuError(f"no SKU {sku!r} in the catalog", sku=sku)
        kit = viewed(viewer, kit_id(sku), Kit) if sku in kit_skus else None
        if kit is not None:
            kits[sku] = kit
    return kits


def listed(viewer: Viewer) -> SellingDirectory | None:
    """The kits and the channels with rules (None before the first is defined)."""
    return viewed(viewer, selling_directory_id(), SellingDirectory)


def every_place(viewer: Viewer) -> dict[str, Place]:
    directory = viewed(viewer, location_directory_id(), LocationDirectory)
    if directory is None:
        return {}
    known = _PLACES.get(directory.id)
    if known is not None and known[0] is directory and known[1] == directory.version:
        return known[2]
    places = {}
    for code in directory.codes:
        location = viewed(viewer, location_id(code), Location)
        if location is not None:
            places[code] = place_of(location)
    _PLACES[directory.id] = (directory, directory.version, places)
    return places


# Sourcing reads every location's stock of the order's SKUs, and most of them have not changed
# since the last order. What it derives from an aggregate is kept with the very object it was
# derived from and that object's version: an aggregate changes only by its events, each of
# which raises its version, and a copy is another object, so a kept answer is never stale.
_SELLABLE: dict[UUID, tuple[Stock, int, date, tuple[SellableBatch, ...]]] = {}
_PLACES: dict[UUID, tuple[LocationDirectory, int, dict[str, Place]]] = {}
MOST_KEPT = 200_000  # stocks; past this the kept answers are dropped and derived again


def sellable_now(stock: Stock, today: date) -> tuple[SellableBatch, ...]:
    """`sellable_batches(stock, today)`, derived once per version of this stock object."""
    kept = _SELLABLE.get(stock.id)
    if kept is not None and kept[0] is stock and kept[1] == stock.version and kept[2] == today:
        return kept[3]
    found = sellable_batches(stock, today)
    if len(_SELLABLE) >= MOST_KEPT:
        _SELLABLE.clear()
    _SELLABLE[stock.id] = (stock, stock.version, today, found)
    return found


def channel_policy(viewer: Viewer, channel: str, places: Iterable[str]) -> SourcingPolicy:
    """The channel's rules, with what every other channel ring-fences kept back from it."""
    selling = listed(viewer)
    rules = {
        name: found
        for name in (selling.channels if selling is not None else [])
        if (found := viewed(viewer, sales_channel_id(name), SalesChannel)) is not None
    }
    kept = pools_kept_from(channel, rules.values(), places)
    own = rules.get(channel)
    if own is None:
        return SourcingPolicy(channel, kept_for_others=kept)
    return own.policy(kept)


def channel_availability(viewer: Viewer, channel: str, sku: str, today: date) -> int:
    """Units (or whole kits) of `sku` the channel may sell now, over every location."""
    kit = known_kits(viewer, [sku]).get(sku)
    places = every_place(viewer)
    policy = channel_policy(viewer, channel, places)
    parts = dict(kit.parts()) if kit is not None else {sku: 1}
    available = {}
    for part in parts:
        summaries = [
            stock.summary(today)
            for code in places
            if (stock := viewed(viewer, stock_id(part, code), Stock)) is not None
        ]
        available[part] = available_to_sell(policy, part, summaries, today)
    return kit_availability(parts, available)
