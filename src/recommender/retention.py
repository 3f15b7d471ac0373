"""The recommender's copies of customer behaviour, kept for a while: the entries it published
to Redis (`recs:customer:<id>`: a customer's candidates, what they bought and returned, where)
and its versioned artefacts (each holds the interactions it was trained on, by customer id).

Both are derived from the event log, which keeps the sales themselves; removing them loses no
fact, only a copy. A customer's entry is written with a 14-day expiry (`store.TTL_SECONDS`) by
every publication that still serves them, so its age is that expiry less the time it has left.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime
from itertools import islice
from pathlib import Path

from recommender.artefact_versions import trained_at, versions
from recommender.serving_pointer import UnknownVersionError, serving_version
from recommender.store import TTL_SECONDS, RecommendationStore

SCAN_BATCH = 500
NO_EXPIRY, GONE = -1, -2  # what Redis's TTL answers for a key without expiry, a missing key


def old_entry_batches(store: RecommendationStore, max_age_seconds: int) -> Iterator[list[bytes]]:
    """Keys of published customer entries older than `max_age_seconds`, a batch at a time. An
    entry without expiry was not written by `publish` (which always sets one): its age is
    unknown, and it counts as old."""
    keys_found = store.client.scan_iter(match=f"{store.prefix}customer:*", count=SCAN_BATCH)
    while keys := list(islice(keys_found, SCAN_BATCH)):
        pipe = store.client.pipeline(transaction=False)
        for key in keys:
            pipe.ttl(key)
        ttls = pipe.execute()
        old = [
            key
            for key, ttl in zip(keys, ttls, strict=True)
            if ttl == NO_EXPIRY or (ttl != GONE and TTL_SECONDS - int(ttl) > max_age_seconds)
        ]
        if old:
            yield old


def count_old_entries(store: RecommendationStore, max_age_seconds: int) -> int:
    return sum(len(batch) for batch in old_entry_batches(store, max_age_seconds))


def remove_old_entries(store: RecommendationStore, max_age_seconds: int) -> int:
    removed = 0
    for batch in old_entry_batches(store, max_age_seconds):
        removed += int(store.client.unlink(*batch))
    return removed


def published_version(store: RecommendationStore) -> str | None:
    version, _ = store.catalog()
    return version or None


def old_artefacts(root: Path, cutoff: datetime, keep: frozenset[str]) -> list[Path]:
    """Versions trained before `cutoff`, except the newest, the serving one (the follower and
    `--since-last` continue from it; `serving_pointer.py`) and those named in `keep` (the one
    Redis serves)."""
    found = versions(root)
    newest = found[-1].name if found else None
    try:
        serving = serving_version(root)
    except UnknownVersionError:  # a pointer naming a removed version: nothing more to keep
        serving = None
    kept = keep | {newest} | ({serving.name} if serving else set())
    return [path for path in found if path.name not in kept and trained_at(path) < cutoff]


def remove_artefacts(paths: list[Path]) -> int:
    """Each version's model.json first, so a version cut short is no longer listed as one."""
    for path in paths:
        (path / "model.json").unlink(missing_ok=True)
        shutil.rmtree(path)
    return len(paths)
