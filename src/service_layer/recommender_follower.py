"""The recommender follower (`glow recommend follow`): keeps the served model current.

It reads the inventory log every `POLL_SECONDS` (incrementally), and when an update is due
(`continuous.Cadence`: enough new interactions, or enough time with at least one, or the daily
full retrain) makes a candidate through the promotion gate (`recommender/continuous.py`); a
promoted one is published to Redis and becomes the serving version. In the cluster, a Faust
agent counts the inventory topic's sales and returns instead (`recommender_agent.py`) and
asks the same follower to update; the log is then read only when something is due.

A failure (a store away, Redis down) is waited out with a backoff and tried again; nothing
is promoted that was not published. Metrics: versions promoted and refused, the last
promotion's time, interactions read and not yet learned by the serving model, how long
updates take; readiness: the last read of the log and the last publication succeeded."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from prometheus_client import Counter, Gauge, Histogram

from recommender.continuous import Cadence, ModelKeeper, Outcome
from streams.outages import Backoff

log = logging.getLogger(__name__)

POLL_SECONDS = 2.0

VERSIONS = Counter(
    "glow_recommender_versions",
    "Candidate model versions saved, by kind (warm, full) and outcome (promoted, refused)",
    ["kind", "outcome"],
)
LAST_PROMOTION = Gauge(
    "glow_recommender_last_promotion_timestamp_seconds",
    "When the serving model was last promoted (Unix time; 0 before any in this process)",
)
PENDING = Gauge(
    "glow_recommender_interactions_pending",
    "Interactions read from the log that the serving model has not learned from",
)
SERVING = Gauge(
    "glow_recommender_serving_version", "The serving model version's number (v0012 is 12)"
)
UPDATE_SECONDS = Histogram(
    "glow_recommender_update_seconds",
    "Wall time of one update: candidate, judgement, save and (when promoted) publication",
    ["kind"],
    buckets=(0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 1800),
)

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


class RecommenderFollower:
    def __init__(
        self,
        keeper: ModelKeeper,
        cadence: Cadence,
        clock: Clock = _now,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self.keeper, self.cadence, self.clock = keeper, cadence, clock
        self.poll_seconds = poll_seconds
        self.backoff = Backoff("recommender follower", log, first=1.0, cap=60.0)
        self.problem: str | None = "the log has not been read yet"
        self._lock = threading.Lock()  # one update at a time (the poll loop, the Faust timer)
        self.outcomes: list[Outcome] = []  # this process's, newest last (for tests, the log)
        self._heard_lock = threading.Lock()
        self._heard = 0  # interactions a topic announced since the last step
        self._catalog_heard = False  # a catalog event announced since the last step

    def start(self) -> None:
        """Publish the serving version when Redis holds another (a publication cut short by
        a crash, a rollback made while no follower ran), then report where things stand."""
        with self._lock:
            self.keeper.read()
            republished = self.keeper.republish()
            self.keeper.publish_catalog()
            if republished:
                log.info(
                    "recommender republished the serving version",
                    extra={"step": "recommender-republish", "version": self._serving_name()},
                )
            self._observe()
            self.problem = None

    def step(self) -> Outcome | None:
        """Read what is new; make the update that is due, if one is. One attempt at most."""
        with self._lock:
            if self.keeper.refresh():  # an operator's rollback: judge against what serves
                log.info(
                    "recommender serving version changed elsewhere",
                    extra={"step": "recommender-refresh", "version": self._serving_name()},
                )
            self.keeper.read()
            if self.keeper.publish_catalog():
                log.info("recommender published the catalog", extra={"step": "recommender-catalog"})
            self._observe()
            now = self.clock()
            kind = self.keeper.due(now, self.cadence)
            if kind is None:
                return None
            started = time.perf_counter()
            outcome = self.keeper.attempt(kind, now)
            UPDATE_SECONDS.labels(kind).observe(time.perf_counter() - started)
            if outcome.version is not None:
                VERSIONS.labels(kind, "promoted" if outcome.promoted else "refused").inc()
            if outcome.promoted:
                LAST_PROMOTION.set(time.time())
            self.outcomes.append(outcome)
            self._observe()
            return outcome

    def hear(self, interactions: int) -> None:
        """Interactions a broker's topic announced (the cluster's agent): no log read yet."""
        with self._heard_lock:
            self._heard += interactions
        PENDING.set(self.keeper.unlearned + self._heard)

    def hear_catalog(self) -> None:
        """A catalog event a broker's topic announced (a product or a promotion changed): the
        next `step_if_heard` reads the log and publishes the catalog."""
        with self._heard_lock:
            self._catalog_heard = True

    def step_if_heard(self) -> Outcome | None:
        """A step when what the topics announced may make an update due (or the full
        retrain's hour came) or changed the catalog, else nothing: the log is read only
        then."""
        now = self.clock()
        with self._heard_lock:
            heard, catalog = self._heard, self._catalog_heard
            self._catalog_heard = False
        if catalog:
            return self._step_heard(heard)
        if heard == 0:
            return None
        last = self.keeper.attempted_at
        waited = last is None or (now - last).total_seconds() >= self.cadence.seconds
        full_at = self.keeper.full_at
        full = (
            full_at is None or (now - full_at).total_seconds() >= 3600 * self.cadence.retrain_hours
        )
        if heard < self.cadence.interactions and not waited and not full:
            return None
        return self._step_heard(heard)

    def _step_heard(self, heard: int) -> Outcome | None:
        try:
            outcome = self.step()
        except Exception as error:
            self.problem = f"the last update failed: {type(error).__name__}"
            raise
        self.problem = None
        with self._heard_lock:  # counted once the log was read: what it heard is in there
            self._heard -= heard
        return outcome

    def run(self, stop: threading.Event) -> None:
        """Until `stop`: start, then a step every `poll_seconds` (sooner after an update)."""
        started = False
        while not stop.is_set():
            try:
                if not started:
                    self.start()
                    started = True
                outcome = self.step()
                self.problem = None
                self.backoff.succeeded()
            except Exception as error:  # a store away: wait, then read and try again
                self.problem = f"the last update failed: {type(error).__name__}"
                stop.wait(self.backoff.failed(error))
                continue
            if outcome is None:
                stop.wait(self.poll_seconds)

    def not_ready(self) -> list[str]:
        """Why the follower is not ready (for /health/ready), empty when it is."""
        return [self.problem] if self.problem else []

    def _observe(self) -> None:
        PENDING.set(self.keeper.unlearned)
        serving = self.keeper.serving
        if serving is not None:
            SERVING.set(int(serving.version[1:]))

    def _serving_name(self) -> str | None:
        serving = self.keeper.serving
        return serving.version if serving else None
