"""Publishing a challenger's candidates: its artefact loaded (`<model dir>/vNNNN`) and run
through the code that publishes the serving model (`publishing.MemoryCandidates`), for every
consenting customer of the log's signals; customers without consent lose their entry."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from recommender import artefacts
from recommender.challengers import version_directory
from recommender.publishing import MemoryCandidates
from recommender.signals import LogSignals
from recommender.store import RecommendationStore


def publish_challenger(
    store: RecommendationStore, root: Path, version: str, signals: LogSignals, now: datetime
) -> int:
    """Returns how many customers' candidates were published."""
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
