"""The in-process hot-view store of the embedded mode, rebuilt from the log at start."""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence

from domain.location import distance_km
from projections.hot_views import Document, IndexOp, ViewWrite


class MemoryHotViews:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._documents: dict[str, Document] = {}
        self._sets: dict[str, set[str]] = {}
        self._scores: dict[str, dict[str, float]] = {}
        self._places: dict[str, tuple[float, float]] = {}
        self._positions: dict[str, int] = {}

    def read(self, keys: Sequence[str]) -> dict[str, Document | None]:
        with self._lock:
            return {key: copy.deepcopy(self._documents.get(key)) for key in keys}

    def apply(self, writes: Sequence[ViewWrite], consumer: str, position: int) -> list[str]:
        conflicts = []
        with self._lock:
            for write in writes:
                stored = self._documents.get(write.key, {}).get("version", 0)
                if stored >= write.document["version"] and not write.rewrites:
                    continue
                if stored != write.expected_version:
                    conflicts.append(write.key)
                    continue
                self._documents[write.key] = copy.deepcopy(write.document)
                for op in write.indexes:
                    self._index(op)
            if not conflicts:
                self._positions[consumer] = max(self._positions.get(consumer, 0), position)
        return conflicts

    def _index(self, op: IndexOp) -> None:
        if op.kind == "sadd":
            self._sets.setdefault(op.key, set()).add(op.member)
        elif op.kind == "zadd":
            self._scores.setdefault(op.key, {})[op.member] = op.score
        elif op.kind == "zrem":
            self._scores.get(op.key, {}).pop(op.member, None)
        elif op.kind == "geoadd":
            self._places[op.member] = (op.longitude, op.latitude)

    def position(self, consumer: str) -> int:
        with self._lock:
            return self._positions.get(consumer, 0)

    def members(self, index: str) -> list[str]:
        with self._lock:
            return sorted(self._sets.get(index, set()))

    def nearest(self, longitude: float, latitude: float, radius_km: float) -> list[str]:
        with self._lock:
            places = dict(self._places)
        distances = {
            code: _km(longitude, latitude, lon, lat) for code, (lon, lat) in places.items()
        }
        return sorted(
            (c for c, d in distances.items() if d <= radius_km), key=distances.__getitem__
        )

    def open_reservations_due(self, until_epoch: float) -> list[str]:
        with self._lock:
            scores = dict(self._scores.get("reservations-open", {}))
        return sorted((m for m, s in scores.items() if s <= until_epoch), key=scores.__getitem__)

    def ranked(
        self, index: str, after: float | None, limit: int, *, newest_first: bool = False
    ) -> list[tuple[str, float]]:
        with self._lock:
            scores = list(self._scores.get(index, {}).items())
        if after is not None:
            scores = [(m, s) for m, s in scores if (s < after if newest_first else s > after)]
        scores.sort(key=lambda item: (item[1], item[0]), reverse=newest_first)
        return scores[:limit]

    def drop(self, index: str) -> None:
        with self._lock:
            self._scores.pop(index, None)
            self._sets.pop(index, None)

    def all_documents(self) -> dict[str, Document]:
        with self._lock:
            return copy.deepcopy(self._documents)


def _km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance (haversine), as Redis computes it for GEOSEARCH."""
    return distance_km(lat1, lon1, lat2, lon2)
