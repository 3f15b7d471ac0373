"""The webhooks' figures for Prometheus: each delivery attempt's outcome, why attempts
failed, and the outbox by status (the dead letters among them), read at each scrape."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

DELIVERED, RETRIED, DEAD = "delivered", "retried", "dead"
ATTEMPTS = Counter(
    "glow_webhook_deliveries",
    "Webhook delivery attempts by outcome (delivered: a 2xx; retried: failed, due again "
    "after a backoff; dead: failed its last attempt, set aside)",
    ["outcome"],
)
# Why an attempt failed: a status class, no answer in time, no connection, no subscription.
TIMEOUT, CONNECTION, UNSUBSCRIBED = "timeout", "connection", "unsubscribed"
FAILURES = Counter(
    "glow_webhook_delivery_failures", "Failed webhook delivery attempts, by reason", ["reason"]
)


# Every label value from the start: a rate or an alert sees the first failure, not only the second.
for _outcome in (DELIVERED, RETRIED, DEAD):
    ATTEMPTS.labels(_outcome)
for _reason in (TIMEOUT, CONNECTION, UNSUBSCRIBED, "http_4xx", "http_5xx", "http_other"):
    FAILURES.labels(_reason)


def status_reason(status: int) -> str:
    """`http_4xx`, `http_5xx`, or `http_other` (a redirect, an informational answer)."""
    return f"http_{status // 100}xx" if 400 <= status < 600 else "http_other"


class OutboxCollector(Collector):
    """The outbox's deliveries per status (pending, delivered, dead), at each scrape."""

    def __init__(self, counts: Callable[[], Mapping[str, int]]) -> None:
        self._counts = counts

    def describe(self) -> list[Metric]:
        return []  # registering reads nothing; the names are checked by the tests

    def collect(self) -> Iterator[Metric]:
        try:
            counts = self._counts()
        except Exception:  # the store away: this scrape goes without the figure
            return
        outbox = GaugeMetricFamily(
            "glow_webhook_outbox_deliveries",
            "Webhook deliveries in the outbox by status (dead: dead letters, to replay)",
            labels=["status"],
        )
        for status, count in sorted(counts.items()):
            outbox.add_metric([status], count)
        yield outbox
