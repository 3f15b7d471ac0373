"""What a hot-view store offers (Redis, or in-process in the embedded mode), and how a batch
of events is applied to one: read the documents, fold the events, write only over the versions
read, retry the documents another writer changed in between."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

from events.envelope import Envelope
from projections.forgotten_guard import drop_forgotten_listings
from projections.hot_views import Document, ViewWrite, fold, is_viewed, view_key

MAX_RETRIES = 10


class HotViewConflictError(RuntimeError):
    """Documents kept changing under this writer; another writer is projecting the same log."""


class HotViewStore(Protocol):
    def read(self, keys: Sequence[str]) -> dict[str, Document | None]: ...

    def apply(self, writes: Sequence[ViewWrite], consumer: str, position: int) -> list[str]:
        """Write each document whose stored version is still the one it was computed from;
        return the keys of the others. Records `position` when nothing conflicted."""

    def position(self, consumer: str) -> int: ...

    def members(self, index: str) -> list[str]: ...

    def nearest(self, longitude: float, latitude: float, radius_km: float) -> list[str]:
        """Location codes within the radius, nearest first."""

    def open_reservations_due(self, until_epoch: float) -> list[str]: ...

    def all_documents(self) -> dict[str, Document]: ...

    def ranked(
        self, index: str, after: float | None, limit: int, *, newest_first: bool = False
    ) -> list[tuple[str, float]]:
        """Up to `limit` members of a sorted index with their scores, by score (highest first
        when `newest_first`), strictly past the score `after` in that direction."""

    def drop(self, index: str) -> None:
        """Delete an index of the current views (a forgotten customer's orders)."""


def apply_batch(
    store: HotViewStore, envelopes: Sequence[Envelope], consumer: str, position: int
) -> int:
    """Project `envelopes` into `store` and record `position`; returns documents written."""
    pending = [e for e in envelopes if is_viewed(e)]
    written = 0
    for _ in range(MAX_RETRIES):
        keys = sorted({view_key(e) for e in pending})
        writes = fold(store.read(keys), pending)
        drop_forgotten_listings(store.read, writes.values())
        conflicts = set(store.apply(list(writes.values()), consumer, position))
        written += len(writes) - len(conflicts)
        if not conflicts:
            return written
        pending = [e for e in pending if view_key(e) in conflicts]
    raise HotViewConflictError(f"{len(pending)} event(s) conflicted {MAX_RETRIES} times")


def rewrite_document(store: HotViewStore, history: Sequence[Envelope], consumer: str) -> None:
    """Fold one aggregate's whole history (in order) into its document again and write it
    over whatever the store holds: how an event a first fold had to leave out gets in, since
    a later event of the same aggregate already moved the document past its version."""
    key = view_key(history[-1])
    for _ in range(MAX_RETRIES):
        current = store.read([key])[key]
        folded = fold({}, history)[key]
        expected = current["version"] if current else 0
        write = replace(folded, expected_version=expected, rewrites=True)
        drop_forgotten_listings(store.read, [write])
        if not store.apply([write], consumer, 0):
            return
    raise HotViewConflictError(f"the document {key} kept changing under a rewrite")
