"""A sales channel bound to stock: where it may sell from, what it keeps back, how it sources.

One `SalesChannel` aggregate per channel; every change of a rule is an event, so the hot views
and sourcing follow it. The rules:
- the locations the channel may sell from (None: every location);
- a safety buffer per SKU: units each location keeps back from this channel;
- a ring-fenced pool per SKU: units each of its locations keeps for this channel alone (every
  other channel sees them as kept back there);
- a minimum remaining shelf life in days (marketplaces often demand months);
- its sourcing strategy (priority list, nearest, fewest shipments), whether stores may ship,
  whether an order may be split over several locations.
Available-to-sell for a channel is a pure function of stock summaries and these rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import InvalidCommandError
from domain.ids import sales_channel_id
from domain.sourcing import NEAREST, SellableBatch, SourcingPolicy, count_stock
from domain.trace import Trace

CHANNELS = ("web", "app", "pos", "marketplace", "backoffice")  # who sells (X-Channel)
MAX_SHELF_LIFE_DAYS = 3650  # no cosmetic keeps longer than ten years


def _channel(aggregate: Aggregate) -> SalesChannel:
    assert isinstance(aggregate, SalesChannel)
    return aggregate


class SalesChannel(Aggregate):
    class Opened(Aggregate.Created):
        channel: str
        trace: Trace

    class SellingLocationsSet(Aggregate.Event):
        locations: list[str] | None  # None: every location
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            locations = None if self.locations is None else list(self.locations)
            _channel(aggregate).locations = locations

    class SafetyBufferSet(Aggregate.Event):
        sku: str
        units: int  # 0: none
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            channel = _channel(aggregate)
            channel.buffers = _with(channel.buffers, self.sku, self.units)

    class RingFencedPoolSet(Aggregate.Event):
        sku: str
        units: int  # 0: none
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            channel = _channel(aggregate)
            channel.pools = _with(channel.pools, self.sku, self.units)

    class MinimumShelfLifeSet(Aggregate.Event):
        days: int
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            _channel(aggregate).min_shelf_life_days = self.days

    class SourcingStrategySet(Aggregate.Event):
        strategy: str
        priority: list[str]
        ship_from_store: bool
        split_allowed: bool
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            channel = _channel(aggregate)
            channel.strategy, channel.priority = self.strategy, list(self.priority)
            channel.ship_from_store, channel.split_allowed = (
                self.ship_from_store,
                self.split_allowed,
            )

    def __init__(self, channel: str, trace: Trace) -> None:
        self.channel = channel
        self.locations: list[str] | None = None
        self.buffers: dict[str, int] = {}
        self.pools: dict[str, int] = {}
        self.min_shelf_life_days = 0
        self.strategy = NEAREST
        self.priority: list[str] = []
        self.ship_from_store = True
        self.split_allowed = True

    @classmethod
    def create_id(cls, channel: str, **_: Any) -> UUID:
        return sales_channel_id(channel)

    @classmethod
    def open(cls, channel: str, trace: Trace) -> SalesChannel:
        """A channel that may sell from anywhere, keeps nothing back and ships the nearest."""
        return cls._create(cls.Opened, channel=channel, trace=trace)

    # --- commands -----------------------------------------------------------------------

    def sell_from(self, locations: Iterable[str] | None, trace: Trace) -> None:
        chosen = None if locations is None else sorted(set(locations))
        if chosen != self.locations:
            self.trigger_event(self.SellingLocationsSet, locations=chosen, trace=trace)

    def set_safety_buffer(self, sku: str, units: int, trace: Trace) -> None:
        _require_units(units, "a safety buffer")
        if units != self.buffers.get(sku, 0):
            self.trigger_event(self.SafetyBufferSet, sku=sku, units=units, trace=trace)

    def set_ring_fenced_pool(self, sku: str, units: int, trace: Trace) -> None:
        _require_units(units, "a ring-fenced pool")
        if units != self.pools.get(sku, 0):
            self.trigger_event(self.RingFencedPoolSet, sku=sku, units=units, trace=trace)

    def set_minimum_shelf_life(self, days: int, trace: Trace) -> None:
        if not 0 <= days <= MAX_SHELF_LIFE_DAYS:
            raise InvalidCommandError(
                f"a minimum shelf life must be from 0 to {MAX_SHELF_LIFE_DAYS} days, got {days}"
            )
        if days != self.min_shelf_life_days:
            self.trigger_event(self.MinimumShelfLifeSet, days=days, trace=trace)

    def set_sourcing(
        self,
        strategy: str,
        priority: Sequence[str],
        ship_from_store: bool,
        split_allowed: bool,
        trace: Trace,
    ) -> None:
        SourcingPolicy(self.channel, strategy=strategy)  # refuses an unknown strategy
        repeated = sorted({code for code in priority if list(priority).count(code) > 1})
        if repeated:
            raise InvalidCommandError(
                f"the priority list names {', '.join(repeated)} more than once: "
                "expected each location at most once"
            )
        wanted = (strategy, list(priority), ship_from_store, split_allowed)
        if wanted != (self.strategy, self.priority, self.ship_from_store, self.split_allowed):
            self.trigger_event(
                self.SourcingStrategySet,
                strategy=strategy,
                priority=list(priority),
                ship_from_store=ship_from_store,
                split_allowed=split_allowed,
                trace=trace,
            )

    # --- queries ------------------------------------------------------------------------

    def may_sell_from(self, location: str) -> bool:
        return self.locations is None or location in self.locations

    def policy(
        self, kept_for_others: Mapping[tuple[str, str], int] | None = None
    ) -> SourcingPolicy:
        """The channel's sourcing policy; `kept_for_others` from `pools_kept_from`."""
        return SourcingPolicy(
            channel=self.channel,
            strategy=self.strategy,
            priority=tuple(self.priority),
            ship_from_store=self.ship_from_store,
            split_allowed=self.split_allowed,
            min_shelf_life_days=self.min_shelf_life_days,
            locations=None if self.locations is None else frozenset(self.locations),
            safety_buffer=dict(self.buffers),
            kept_for_others=dict(kept_for_others or {}),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "locations": self.locations,
            "safety_buffers": dict(self.buffers),
            "ring_fenced_pools": dict(self.pools),
            "min_shelf_life_days": self.min_shelf_life_days,
            "strategy": self.strategy,
            "priority": list(self.priority),
            "ship_from_store": self.ship_from_store,
            "split_allowed": self.split_allowed,
            "version": self.version,
        }


def pools_kept_from(
    channel: str, channels: Iterable[SalesChannel], locations: Iterable[str]
) -> dict[tuple[str, str], int]:
    """(SKU, location) -> units other channels keep ring-fenced there, hidden from `channel`."""
    every = sorted(locations)
    kept: dict[tuple[str, str], int] = {}
    for other in channels:
        if other.channel == channel:
            continue
        for sku, units in other.pools.items():
            for code in every if other.locations is None else other.locations:
                kept[sku, code] = kept.get((sku, code), 0) + units
    return kept


def available_to_sell(
    policy: SourcingPolicy, sku: str, summaries: Iterable[Mapping[str, Any]], today: date
) -> int:
    """Units of `sku` the channel may sell now: over the locations it may sell from, what is
    free and long-dated enough, less what each location keeps back from it.

    `summaries`: the SKU's `Stock.summary(today)` per location (or the hot views' documents
    of the same shape: location, batches with number, expiry and available)."""
    earliest = policy.earliest_expiry(today)
    total = 0
    for summary in summaries:
        location = summary["location"]
        if not policy.may_sell_from(location):
            continue
        batches = (
            SellableBatch(b["number"], date.fromisoformat(b["expiry"]), b["available"])
            for b in summary["batches"]
            if b["available"] > 0
        )
        total += count_stock(batches, policy.withheld(sku, location), earliest).usable
    return total


def _with(units: dict[str, int], sku: str, quantity: int) -> dict[str, int]:
    changed = {**units, sku: quantity}
    return {k: v for k, v in changed.items() if v}


def _require_units(units: int, what: str) -> None:
    if units < 0:
        raise InvalidCommandError(f"{what} must be 0 units or more, got {units}")
