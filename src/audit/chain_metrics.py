"""The audit hash chain for Prometheus, read at each scrape in one short connection: how far
the chain reaches (and how far behind the log it is), and what the recorded verifications
found (`glow verify`, audit/verification_records.py)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import psycopg
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from audit.chain_follower import chain_head, log_head
from audit.verification_records import verification_summary

log = logging.getLogger(__name__)


class ChainCollector(Collector):
    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo

    def describe(self) -> list[Metric]:
        return []  # registering must not read the database

    def collect(self) -> Iterator[Metric]:
        try:
            with psycopg.connect(self._conninfo, connect_timeout=5) as conn:
                position, _ = chain_head(conn)
                head = log_head(conn)
                summary = verification_summary(conn)
        except psycopg.Error as error:  # the store away: this scrape goes without them
            log.warning("metrics: could not read the audit chain: %s", error)
            return
        yield GaugeMetricFamily(
            "glow_chain_position", "The log position the audit hash chain reaches", value=position
        )
        yield GaugeMetricFamily(
            "glow_chain_lag_events",
            "Events committed to the log and not chained yet",
            value=max(head - position, 0),
        )
        yield CounterMetricFamily(
            "glow_chain_verifications",
            "Recorded chain verifications (glow verify), whatever they found",
            value=summary.intact_runs + summary.failed_runs,
        )
        yield CounterMetricFamily(
            "glow_chain_verification_failures",
            "Chain verifications that found the log and the chain disagree (tampering)",
            value=summary.failed_runs,
        )
        if summary.last_at is not None:
            yield GaugeMetricFamily(
                "glow_chain_last_verification_timestamp_seconds",
                "When the latest recorded chain verification ran (Unix time)",
                value=summary.last_at.timestamp(),
            )
            yield GaugeMetricFamily(
                "glow_chain_last_verification_intact",
                "1 if the latest recorded chain verification found the chain intact, else 0",
                value=1 if summary.last_intact else 0,
            )
