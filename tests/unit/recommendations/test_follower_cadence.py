"""When the follower updates (the cadence's logic, on a keeper stand-in: the keeper itself runs
on real stores in tests/e2e/test_api_recommender_follower.py), and what the cluster's agent
counts on the inventory topic."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from recommender.continuous import FULL, WARM, Cadence, ModelKeeper, Outcome
from service_layer.recommender_agent import interactions_in
from service_layer.recommender_follower import RecommenderFollower

NOW = datetime(2026, 12, 1, tzinfo=UTC)
CADENCE = Cadence(interactions=100, seconds=900, retrain_hours=24)


@dataclass
class Trained:
    version: str = "v0001"
    trained_interactions: int = 500
    model: Any = None


@dataclass
class Keeper:
    """The state `ModelKeeper.due` reads, and a record of what the follower asked of it."""

    read_count: int = 500
    attempted_through: int = 500
    attempted_at: datetime | None = NOW - timedelta(minutes=1)
    full_at: datetime | None = NOW - timedelta(hours=1)
    serving_version: str | None = "v0001"
    reads: int = 0
    attempts: list[str] = field(default_factory=list)
    catalog_changed: bool = False  # what the next log read finds of the catalog
    catalogs_published: int = 0

    @property
    def serving(self) -> Trained | None:
        if self.serving_version is None:
            return None
        return Trained(self.serving_version, 500, type("M", (), {"trained_until": NOW})())

    @property
    def fold(self) -> Any:
        return type("Fold", (), {"interactions": [None] * self.read_count})()

    pending = ModelKeeper.pending
    unlearned = ModelKeeper.unlearned
    due = ModelKeeper.due

    def read(self) -> int:
        self.reads += 1
        return 0

    def attempt(self, kind: str, now: datetime) -> Outcome:
        self.attempts.append(kind)
        self.attempted_through, self.attempted_at = self.read_count, now
        return Outcome(kind, "v0002", True, "not worse")

    def republish(self) -> bool:
        return False

    def publish_catalog(self) -> bool:
        changed, self.catalog_changed = self.catalog_changed, False
        self.catalogs_published += changed
        return changed

    def refresh(self) -> bool:
        return False


def follower(keeper: Keeper, now: datetime = NOW) -> RecommenderFollower:
    return RecommenderFollower(keeper, CADENCE, clock=lambda: now)  # type: ignore[arg-type]


@given(
    st.integers(0, 300),
    st.integers(0, 3600),
    st.integers(0, 48),
    st.booleans(),
)
@settings(max_examples=300)
def test_an_update_is_due_exactly_as_the_cadence_says(
    new: int, seconds: int, hours: int, serving: bool
) -> None:
    keeper = Keeper(
        read_count=500 + new,
        attempted_at=NOW - timedelta(seconds=seconds),
        full_at=NOW - timedelta(hours=hours),
        serving_version="v0001" if serving else None,
    )
    due = keeper.due(NOW, CADENCE)  # type: ignore[arg-type]
    if new == 0:
        assert due is None  # nothing to learn, nothing to judge on
    elif not serving or hours >= 24:
        assert due == FULL
    elif new >= 100 or seconds >= 900:
        assert due == WARM
    else:
        assert due is None


def test_the_follower_attempts_what_is_due_and_counts_from_its_attempt() -> None:
    keeper = Keeper(read_count=650)
    runner = follower(keeper)
    outcome = runner.step()
    assert outcome is not None and keeper.attempts == [WARM] and keeper.reads == 1
    assert runner.step() is None  # the attempt took what was pending
    assert keeper.attempts == [WARM] and keeper.reads == 2


def test_the_agent_s_count_reads_the_log_only_when_it_makes_an_update_due() -> None:
    keeper = Keeper(read_count=500)
    runner = follower(keeper)
    assert runner.step_if_heard() is None and keeper.reads == 0  # nothing heard
    runner.hear(40)
    assert runner.step_if_heard() is None and keeper.reads == 0  # 40 < 100, 1 min < 900 s
    keeper.read_count = 600  # what the log holds by the time it is read
    runner.hear(60)
    outcome = runner.step_if_heard()
    assert outcome is not None and keeper.reads == 1 and keeper.attempts == [WARM]
    assert runner.step_if_heard() is None  # the count was spent on that read


def test_the_agent_s_time_trigger_needs_one_interaction_heard() -> None:
    keeper = Keeper(read_count=501, attempted_at=NOW - timedelta(seconds=901))
    runner = follower(keeper)
    assert runner.step_if_heard() is None and keeper.reads == 0
    runner.hear(1)
    assert runner.step_if_heard() is not None and keeper.attempts == [WARM]


def test_a_catalog_event_heard_publishes_the_catalog_without_training() -> None:
    keeper = Keeper(read_count=501)
    runner = follower(keeper)
    keeper.catalog_changed = True  # a promotion recorded: the topic says so
    runner.hear_catalog()
    assert runner.step_if_heard() is None  # nothing due to train
    assert keeper.reads == 1 and keeper.catalogs_published == 1 and keeper.attempts == []
    assert runner.step_if_heard() is None and keeper.reads == 1  # heard once, read once


def envelope(kind: str) -> bytes:
    return orjson.dumps({"type": kind, "payload": {}})


def test_the_agent_counts_sales_and_returns_and_nothing_else() -> None:
    values = [
        envelope("Stock.Sold"),
        envelope("Stock.Returned"),
        envelope("Stock.Reserved"),
        envelope("Stock.Sold"),
        b"not json",
        b"[1, 2]",
    ]
    assert interactions_in(values) == 3
