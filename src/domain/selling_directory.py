"""Which SKUs are kits and which channels have rules of their own: sourcing reads it for every
order, so that an order never asks the event store about a kit or a channel's rules that do not
exist (a miss is a read of the store each time; this is one aggregate, always at hand).

Bookkeeping of the write side, as the LocationDirectory is: never published, never projected.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.ids import selling_directory_id


def _directory(aggregate: Aggregate) -> SellingDirectory:
    assert isinstance(aggregate, SellingDirectory)
    return aggregate


class SellingDirectory(Aggregate):
    class Opened(Aggregate.Created):
        pass

    class KitListed(Aggregate.Event):
        sku: str

        def apply(self, aggregate: Aggregate) -> None:
            directory = _directory(aggregate)
            directory.kits = [*directory.kits, self.sku]

    class ChannelListed(Aggregate.Event):
        channel: str

        def apply(self, aggregate: Aggregate) -> None:
            directory = _directory(aggregate)
            directory.channels = [*directory.channels, self.channel]

    def __init__(self) -> None:
        self.kits: list[str] = []
        self.channels: list[str] = []

    @classmethod
    def create_id(cls, **_: Any) -> UUID:
        return selling_directory_id()

    @classmethod
    def open(cls) -> SellingDirectory:
        return cls._create(cls.Opened)

    def list_kit(self, sku: str) -> None:
        if sku not in self.kits:
            self.trigger_event(self.KitListed, sku=sku)

    def list_channel(self, channel: str) -> None:
        if channel not in self.channels:
            self.trigger_event(self.ChannelListed, channel=channel)
