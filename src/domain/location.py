"""Places that hold stock: warehouses, stores and marketplaces' fulfilment centres."""

from __future__ import annotations

import math
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.ids import location_directory_id, location_id
from domain.trace import Trace

LOCATION_KINDS = frozenset({"warehouse", "store", "fulfilment_centre"})
EARTH_RADIUS_KM = 6372.797560856  # the radius Redis's GEOSEARCH uses, so both agree


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine) between two points, in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


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
