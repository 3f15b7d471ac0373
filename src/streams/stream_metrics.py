"""What the log's followers tell Prometheus: how far each is behind the log's head (lag), how
much each carried (throughput), the events set aside, and a rebuild's progress.

Positions are kept as the followers reach them (`POSITIONS`, no I/O); the head is read at
each scrape (`LagCollector`), so a follower that is stuck (a broker or a store away) shows a
lag that grows with every command committed, not the last figure it managed to report.
Consumers, by the `consumer` label: `relay`, `hot_views`, `facts` (a worker's sinks, or the
embedded follower's), and in the API process `sweeper` and `audit_chain`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import TypeVar

from prometheus_client import Counter, Gauge
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)
T = TypeVar("T")

PROJECTED = Counter("glow_events_projected", "Events applied to a read model, by sink", ["sink"])
PUBLISHED = Counter("glow_relay_events_published", "Events the relay published to the broker")
REBUILD_POSITION = Gauge(
    "glow_rebuild_position", "The log position a running rebuild has replayed up to", ["model"]
)
REBUILD_TARGET = Gauge(
    "glow_rebuild_target_position", "The log head a running rebuild replays up to", ["model"]
)


class LogPositions:
    """Where each consumer of the log in this process stands, as it last recorded it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._at: dict[str, int] = {}

    def record(self, consumer: str, position: int) -> None:
        with self._lock:
            self._at[consumer] = position

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._at)


POSITIONS = LogPositions()


class LagCollector(Collector):
    """At each scrape: the log's head, each consumer's position and lag (head - position),
    and the dead letters per sink. A head (or letters) that cannot be read leaves those
    figures out of this scrape, with one log line: the scrape itself never fails."""

    def __init__(
        self,
        head: Callable[[], int],
        positions: Callable[[], Mapping[str, int]] = POSITIONS.snapshot,
        dead_letters: Callable[[], Mapping[str, int]] | None = None,
    ) -> None:
        self._head = head
        self._positions = positions
        self._dead_letters = dead_letters

    def describe(self) -> list[Metric]:
        return []  # registering reads nothing; the names are checked by the tests

    def collect(self) -> Iterator[Metric]:
        positions = self._positions()
        at = GaugeMetricFamily(
            "glow_log_consumer_position",
            "The log position up to which a consumer has handled every event",
            labels=["consumer"],
        )
        for consumer, position in sorted(positions.items()):
            at.add_metric([consumer], position)
        yield at
        head = _read("the log's head", self._head)
        if head is not None:
            yield GaugeMetricFamily(
                "glow_log_head_position", "The log's last committed position", value=head
            )
            lag = GaugeMetricFamily(
                "glow_log_consumer_lag_events",
                "Events committed to the log that a consumer has not handled yet",
                labels=["consumer"],
            )
            for consumer, position in sorted(positions.items()):
                lag.add_metric([consumer], max(head - position, 0))
            yield lag
        if self._dead_letters is not None:
            counts = _read("the dead letters", self._dead_letters)
            if counts is not None:
                letters = GaugeMetricFamily(
                    "glow_dead_letters",
                    "Events a sink could not take, set aside until retried or dropped",
                    labels=["sink"],
                )
                for sink, count in sorted(counts.items()):
                    letters.add_metric([sink], count)
                yield letters


def _read(what: str, read: Callable[[], T]) -> T | None:
    try:
        return read()
    except Exception as error:  # a store away: this scrape goes without the figure
        log.warning("metrics: could not read %s: %s: %s", what, type(error).__name__, error)
        return None
