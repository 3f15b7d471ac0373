"""Places that hold stock: warehouses, stores and marketplaces' fulfilment centres."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.ids import location_directory_id, location_id
from domain.trace import Trace

LOCATION_KINDS = frozenset({"warehouse", "store", "fulfilment_centre"})


class Location(Aggregate):
    class Registered(Aggregate.Created):
        code: str
        name: str
        kind: str
        latitude: float
        longitude: float
        trace: Trace

    def __init__(
        self, code: str, name: str, kind: str, latitude: float, longitude: float, trace: Trace
    ) -> None:
        self.code = code
        self.name = name
        self.kind = kind
        self.latitude = latitude
        self.longitude = longitude

    @classmethod
    def create_id(cls, code: str, **_: Any) -> UUID:
        return location_id(code)

    @classmethod
    def register(
        cls, code: str, name: str, kind: str, latitude: float, longitude: float, trace: Trace
    ) -> Location:
        return cls._create(
            cls.Registered,
            code=code,
            name=name,
            kind=kind,
            latitude=latitude,
            longitude=longitude,
            trace=trace,
        )


class LocationDirectory(Aggregate):
    """The list of every location's code, so a recall can reach every place a batch may be."""

    class Opened(Aggregate.Created):
        pass

    class Listed(Aggregate.Event):
        code: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, LocationDirectory)
            aggregate.codes = [*aggregate.codes, self.code]

    def __init__(self) -> None:
        self.codes: list[str] = []

    @classmethod
    def create_id(cls, **_: Any) -> UUID:
        return location_directory_id()

    @classmethod
    def open(cls) -> LocationDirectory:
        return cls._create(cls.Opened)

    def list_location(self, code: str) -> None:
        if code not in self.codes:
            self.trigger_event(self.Listed, code=code)
