"""Exposure rows travel the behaviour path: one `TrackedBatch` is one message of the
`behaviour` topic, so exposures and links survive its JSON, and a message written before
experiments existed still reads."""

from __future__ import annotations

import orjson

from projections.behaviour_rows import TrackedBatch


def test_exposures_and_links_survive_the_topics_json() -> None:
    batch = TrackedBatch()
    batch.exposures.append(
        ("e1", "x1", "b", "p" * 32, ["P1", "P2"], "personal", 0, 1_760_000_000_000)
    )
    batch.experiment_people.append(("c1", "p" * 32, 1_760_000_000_000))
    assert batch  # an exposure alone is something to write
    again = TrackedBatch.from_json(batch.to_json())
    assert again.exposures == batch.exposures
    assert again.experiment_people == batch.experiment_people


def test_a_message_from_before_experiments_still_reads() -> None:
    old = {"events": [], "aggregates": [], "violations": [], "people": [], "stitches": []}
    batch = TrackedBatch.from_json(orjson.dumps(old))
    assert batch.exposures == [] and batch.experiment_people == [] and not batch
