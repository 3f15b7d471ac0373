"""The command writer's figures for Prometheus: how large its commit groups are, how long their
transactions take, what its commands came to, how full its queue is.

The writer's loop hands each landed group to a `GroupObserver`, once per group, never per
command: the histograms cost one observation each per group. In the API process (the
in-process writer) that observer is `observe_group`. The writer process has no HTTP port of
its own: its loop appends each observation to a list that travels with the group's answers
in the frame it sends anyway (writer_server.py), and the API process observes them when it
reads that frame (writer_client.py). So one scrape of the API's `/metrics` (the pod
Kubernetes scrapes) sees the writer, and the writer process needs no port, no setting and no
second scrape target; its counts (committed, refused, ...) ride along the same frame.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from prometheus_client import Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from domain.unmet_demand import REASONS

INVENTORY, CUSTOMERS = "inventory", "customers"  # the `ledger` label: whose writer

GROUP_SIZE = Histogram(
    "glow_writer_group_size",
    "Commands decided together and committed in one transaction (one commit group)",
    ["ledger"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
)
COMMIT_SECONDS = Histogram(
    "glow_writer_commit_seconds",
    "A commit group's transaction: from sending it to the store until it committed",
    ["ledger"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
)

GroupObserver = Callable[[int, float], None]  # (commands in the group, seconds to commit)
Observation = tuple[int, float]


def group_observer(ledger: str) -> GroupObserver:
    """Observes a landed group into this process's histograms, under `ledger`."""
    size, seconds = GROUP_SIZE.labels(ledger), COMMIT_SECONDS.labels(ledger)

    def observe(commands: int, commit_seconds: float) -> None:
        size.observe(commands)
        seconds.observe(commit_seconds)

    return observe


def observe_all(ledger: str, observations: list[Observation]) -> None:
    """Observations another process made (the writer process's, from its frames)."""
    size, seconds = GROUP_SIZE.labels(ledger), COMMIT_SECONDS.labels(ledger)
    for commands, commit_seconds in observations:
        size.observe(commands)
        seconds.observe(commit_seconds)


@dataclass(frozen=True)
class WriterCounts:
    """What a writer's commands came to since it started (cumulative), as its loop counts
    them: `committed` includes `replayed` (a repeated key answered from its first answer)."""

    committed: int = 0
    groups: int = 0
    replayed: int = 0
    refused: int = 0  # a domain refusal (409/422/404), decided alone on stored state
    failed: int = 0  # anything else: an error the command could not be decided through
    # refusals for lack of stock recorded as unmet demand: (reason, records) pairs
    unmet_recorded: tuple[tuple[str, int], ...] = ()
    unmet_unrecorded: int = 0  # refusals whose unmet demand could not be saved

    def as_tuple(
        self,
    ) -> tuple[int, int, int, int, int, tuple[tuple[str, int], ...], int]:
        return (
            self.committed,
            self.groups,
            self.replayed,
            self.refused,
            self.failed,
            self.unmet_recorded,
            self.unmet_unrecorded,
        )


@dataclass(frozen=True)
class WriterFigures:
    """A writer as a scrape sees it: its counts, the commands refused before they reached it
    (its queue full: the API's 503 `ledger-busy`), and its queue. `counts` is None where
    another process reports them (an API of the shared writer: `glow writer`'s /metrics);
    `queue_capacity` is None where there is no queue to report (`glow writer` itself: each
    API reports its own)."""

    counts: WriterCounts | None
    overloaded: int
    queue_depth: int
    queue_capacity: int | None


class WriterCollector(Collector):
    """The writers' counts and queues, read at each scrape (nothing is counted twice: the
    writers keep the counts, this only reports them). Also the names the API's `/metrics`
    had before these were registered metrics: `glow_commands_committed_total`,
    `glow_commit_groups_total` (the inventory writer's)."""

    def __init__(self, figures: Callable[[], Mapping[str, WriterFigures]]) -> None:
        self._figures = figures

    def describe(self) -> list[Metric]:
        return []  # registering reads nothing; the names are checked by the tests

    def collect(self) -> Iterator[Metric]:
        writers = self._figures()
        commands = CounterMetricFamily(
            "glow_writer_commands",
            "Commands the writer answered, by outcome (committed: new events; replayed: a "
            "repeated Idempotency-Key; refused: a domain refusal; failed: an error)",
            labels=["ledger", "outcome"],
        )
        groups = CounterMetricFamily(
            "glow_writer_groups", "Commit groups committed", labels=["ledger"]
        )
        overloaded = CounterMetricFamily(
            "glow_writer_overloaded",
            "Commands refused before reaching the writer because its queue was full (503)",
            labels=["ledger"],
        )
        depth = GaugeMetricFamily(
            "glow_writer_queue_depth",
            "Commands submitted to the writer and not answered yet",
            labels=["ledger"],
        )
        capacity = GaugeMetricFamily(
            "glow_writer_queue_capacity",
            "Commands the writer takes before refusing more as overloaded",
            labels=["ledger"],
        )
        for ledger, figures in sorted(writers.items()):
            counts = figures.counts
            if counts is not None:
                outcomes = {
                    "committed": counts.committed - counts.replayed,
                    "replayed": counts.replayed,
                    "refused": counts.refused,
                    "failed": counts.failed,
                }
                for outcome, value in outcomes.items():
                    commands.add_metric([ledger, outcome], value)
                groups.add_metric([ledger], counts.groups)
            if figures.queue_capacity is not None:
                overloaded.add_metric([ledger], figures.overloaded)
                depth.add_metric([ledger], figures.queue_depth)
                capacity.add_metric([ledger], figures.queue_capacity)
        yield from (commands, groups, overloaded, depth, capacity)
        inventory = writers.get(INVENTORY)
        if inventory is not None and inventory.counts is not None:
            yield CounterMetricFamily(
                "glow_commands_committed",
                "Inventory commands answered with their outcome, replays included (older name)",
                value=inventory.counts.committed,
            )
            yield CounterMetricFamily(
                "glow_commit_groups",
                "Inventory commit groups committed (older name of glow_writer_groups_total)",
                value=inventory.counts.groups,
            )
            yield from unmet_demand_metrics(inventory.counts)


def unmet_demand_metrics(counts: WriterCounts) -> Iterator[Metric]:
    """Refusals for lack of stock the inventory writer recorded as unmet demand (and those
    it could not record: the refusal was answered all the same)."""
    recorded = CounterMetricFamily(
        "glow_unmet_demand_recorded",
        "UnmetDemand records saved for refusals for lack of stock, by reason "
        "(insufficient-stock, cannot-source)",
        labels=["reason"],
    )
    per_reason = dict.fromkeys(REASONS, 0) | dict(counts.unmet_recorded)
    for reason, records in sorted(per_reason.items()):
        recorded.add_metric([reason], records)
    yield recorded
    yield CounterMetricFamily(
        "glow_unmet_demand_unrecorded",
        "Unmet demand records of refusals for lack of stock that could not be saved "
        "(logged; the refusal was answered as usual)",
        value=counts.unmet_unrecorded,
    )
