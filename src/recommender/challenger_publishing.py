"""Publishing a challenger's candidates: its artefact loaded (`<model dir>/vNNNN`) and run
through the code that publishes the serving model (`publishing.MemoryCandidates`), for every
consenting customer of the log's signals; customers without consent lose their entry."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from recommender import artefacts
from recommender.challengers import version_directory
from recommender.publishing import MemoryCandidates, customer_entries
from recommender.signals import LogSignals
from recommender.store import RecommendationStore


def publish_challenger(
    store: RecommendationStore, root: Path, version: str, signals: LogSignals, now: datetime
) -> int:
    """Returns how many customers' candidates were published."""
    model, _meta = artefacts.load(version_directory(root, version))
    entries, withdrawn = customer_entries(MemoryCandidates(model, signals, version), signals)
    store.publish_challenger(version, entries, withdrawn, now.isoformat())
    return len(entries)
