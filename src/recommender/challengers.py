"""A challenger: a saved model version tested in an experiment against the serving one. Its
candidates are published beside the serving model's (`recs:challenger:<version>:customer:<id>`)
by the same code that publishes the serving model (`publishing.MemoryCandidates`), and served
through the same path (`serving.recommend`) with a source that reads them."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from recommender import artefacts
from recommender.publishing import MemoryCandidates
from recommender.signals import LogSignals
from recommender.store import RecommendationStore


class UnknownModelVersionError(ValueError):
    """A model version was named that the artefacts' folder does not hold."""


def version_directory(root: Path, version: str) -> Path:
    """`<root>/vNNNN`, refused (naming what exists) unless it holds a complete model."""
    directory = root / version
    if not (directory / "model.json").exists():
        known = ", ".join(p.name for p in artefacts.versions(root)) or "none"
        raise UnknownModelVersionError(
            f"no model version {version!r} in {root}; expected one of: {known}"
        )
    return directory


def publish_challenger(
    store: RecommendationStore, root: Path, version: str, signals: LogSignals, now: datetime
) -> int:
    """Load the version's artefact and publish its candidates for every consenting customer;
    returns how many were published."""
    model, _meta = artefacts.load(version_directory(root, version))
    memory = MemoryCandidates(model, signals, version)
    entries: dict[str, dict[str, Any]] = {}
    withdrawn = []
    for customer_id, facts in signals.customers.items():
        if not facts.may_personalise:
            withdrawn.append(customer_id)
        elif (entry := memory.customer(customer_id)) is not None:
            entries[customer_id] = entry
    store.publish_challenger(version, entries, withdrawn, now.isoformat())
    return len(entries)


class ChallengerCandidates:
    """The candidate source of a challenger variant: its own entries, the shared fallbacks."""

    def __init__(self, store: RecommendationStore, version: str) -> None:
        self.store, self.version = store, version

    def customer(self, customer_id: str) -> dict[str, Any] | None:
        return self.store.challenger(self.version, customer_id)

    def popular(self, skin_type: str | None) -> list[str]:
        return self.store.popular(skin_type)

    def forget(self, customer_id: str) -> None:
        self.store.forget(customer_id)
