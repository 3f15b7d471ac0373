"""A challenger: a saved model version tested in an experiment against the serving one. Its
candidates are published beside the serving model's (`recs:challenger:<version>:customer:<id>`,
recommender/challenger_publishing.py) and served through the same path (`serving.recommend`)
with a source that reads them. Light on purpose (no numpy, no LightFM): the API imports it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from recommender.artefact_versions import versions
from recommender.store import RecommendationStore


class UnknownModelVersionError(ValueError):
    """A model version was named that the artefacts' folder does not hold."""


def version_directory(root: Path, version: str) -> Path:
    """`<root>/vNNNN`, refused (naming what exists) unless it holds a complete model."""
    directory = root / version
    if not (directory / "model.json").exists():
        known = ", ".join(p.name for p in versions(root)) or "none"
        raise UnknownModelVersionError(
            f"no model version {version!r} in {root}; expected one of: {known}"
        )
    return directory


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
