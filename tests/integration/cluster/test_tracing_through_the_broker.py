"""Tracing on the cluster path with real processes: a command through the API, `glow relay`
to the Tansu broker, `glow worker` (Faust) into Redis and chDB. The relay's send span is the
request's child, its messages carry the send span's `traceparent` in their Kafka headers, and
the worker's read-model writes continue that trace."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from configuration.settings import Settings
from telemetry import tracing
from tests.e2e.ledger_server import auth_headers, headers, serve, stocked_sku
from tests.integration.cluster.processes import running
from tests.integration.cluster.test_cluster_end_to_end import worker_args
from tests.otlp_receiver import Receiver, otlp_receiver

pytestmark = pytest.mark.kafka

PRODUCER, CONSUMER = 4, 5  # OTLP's Span.SpanKind


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    with otlp_receiver() as (url, found):
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", url)  # the relay and worker inherit it
        monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
        yield found


def test_the_relay_and_the_worker_continue_the_requests_trace(
    cluster: Settings, receiver: Receiver, tmp_path: Path
) -> None:
    traced = replace(cluster, tracing=True, trace_sample_ratio=1.0)
    log = tmp_path / "processes.log"
    assert tracing.start(traced, tracing.API)
    try:
        with (
            serve(traced) as ledger,
            httpx.Client(headers=auth_headers(), base_url=ledger.base_url, timeout=30) as client,
            running(traced, "relay", log=log),
            running(traced, *worker_args(tmp_path), log=log),
        ):
            stocked_sku(client, "TRACE-SERUM", "PARIS", {"B1": 5})
            sold = client.post(
                "/sales",
                json={"lines": [{"sku": "TRACE-SERUM", "location": "PARIS", "quantity": 1}]},
                headers=headers(),
            )
            assert sold.status_code == 200, sold.text
            tracing.flush()
            request = receiver.wait_for(lambda spans: any(s.name == "POST /sales" for s in spans))
            [api] = [s for s in request if s.name == "POST /sales"]

            topic = f"{traced.topic_prefix}inventory"

            def through_the_worker(_: object) -> bool:
                names = {(s.service, s.name) for s in receiver.of_trace(api.trace_id)}
                return {("glow-relay", f"send {topic}"), ("glow-worker", "hot_views write")} <= (
                    names
                )

            receiver.wait_for(through_the_worker, 60)
            in_trace = receiver.of_trace(api.trace_id)
            names = sorted({(s.service, s.name) for s in in_trace})
            sends = [s for s in in_trace if s.name == f"send {topic}"]
            assert sends, (names, log.read_text()[-3000:])
            [send] = sends
            assert send.service == "glow-relay"
            assert send.kind == PRODUCER
            assert send.parent_span_id == api.span_id
            assert send.attributes["messaging.destination.name"] == topic
            writes = [s for s in in_trace if s.service == "glow-worker"]
            assert {s.name for s in writes} >= {"hot_views write"}, names
            assert all(s.kind == CONSUMER for s in writes)
            assert all(s.parent_span_id == send.span_id for s in writes)
            assert all(s.attributes["glow.events"] >= 1 for s in writes)
    finally:
        tracing.stop()
