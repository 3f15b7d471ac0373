"""Everything a running ledger (`glow serve`) tells Prometheus besides what its loops count
themselves: a registry of collectors read at each scrape of the API's `/metrics`. The writer
process's figures arrive here too (writer_metrics.py says how), so one scrape of the API
sees the whole process group: writers, sweeper, followers' lag, chain, webhooks' outbox."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from audit.chain_metrics import ChainCollector
from configuration.settings import postgres_conninfo
from service_layer.bootstrap import LedgerRuntime
from service_layer.reservation_sweeper import ReservationSweeper
from service_layer.webhook_metrics import OutboxCollector
from service_layer.writer_metrics import CUSTOMERS, INVENTORY, WriterCollector, WriterFigures
from streams.stream_metrics import POSITIONS, LagCollector

SWEEPER = "sweeper"


class SweeperCollector(Collector):
    """How far the reservation sweeper is behind: the oldest lapsed hold it has not expired
    yet; and the open reservations it follows, the ones it expired."""

    def __init__(self, sweeper: ReservationSweeper) -> None:
        self._sweeper = sweeper

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        deadlines = self._sweeper.deadlines
        yield GaugeMetricFamily(
            "glow_sweeper_oldest_overdue_seconds",
            "Seconds since the earliest lapsed deadline of a reservation not expired yet",
            value=deadlines.oldest_overdue(datetime.now(tz=UTC)),
        )
        yield GaugeMetricFamily(
            "glow_open_reservations",
            "Open reservations the sweeper follows",
            value=deadlines.open_count(),
        )
        yield CounterMetricFamily(
            "glow_reservations_expired",
            "Reservations the sweeper expired",
            value=self._sweeper.expired_total,
        )


def runtime_registry(runtime: LedgerRuntime) -> CollectorRegistry:
    registry = CollectorRegistry()

    def writers() -> dict[str, WriterFigures]:
        return {INVENTORY: runtime.writer.figures(), CUSTOMERS: runtime.customers.writer.figures()}

    def positions() -> dict[str, int]:
        return {**POSITIONS.snapshot(), SWEEPER: runtime.sweeper.deadlines.position}

    def head() -> int:
        return runtime.ledger.recorder.max_notification_id() or 0

    read_side = runtime.read_side
    registry.register(WriterCollector(writers))
    registry.register(SweeperCollector(runtime.sweeper))
    registry.register(
        LagCollector(head, positions, read_side.dead_letters if read_side is not None else None)
    )
    if runtime.settings.is_postgres():
        registry.register(ChainCollector(postgres_conninfo(runtime.settings.event_store_url)))
    if runtime.webhook_desk is not None:
        registry.register(OutboxCollector(runtime.webhook_desk.counts))
    return registry
