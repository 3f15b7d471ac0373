"""Tracing's pure parts, with the SDK's in-memory exporter: off imports nothing, settings
refuse what they cannot use, the relay's messages carry their request's trace context and the
worker's read-model write continues it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from configuration.settings import Settings, SettingsError
from events.envelope import Envelope
from projections.memory_views import MemoryHotViews
from streams.embedded_driver import Sinks
from streams.stream_projector import StreamProjector
from streams.stream_tracing import TRACEPARENT, PublishSpans, message_parent
from telemetry import tracing

TRACE_ID, SPAN_ID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    assert tracing.start(Settings(tracing=True), tracing.WORKER, exporter)
    try:
        yield exporter
    finally:
        tracing.stop()


def envelope(position: int, trace: dict[str, str] | None = None) -> Envelope:
    return Envelope(
        event_id=f"00000000-0000-0000-0000-00000000000{position}:1",
        position=position,
        type="Location.Registered",
        aggregate_id=f"00000000-0000-0000-0000-00000000000{position}",
        version=1,
        timestamp="2026-03-01T09:00:00+00:00",
        schema_version=1,
        subject={"code": f"L{position}"},
        payload={
            "code": f"L{position}",
            "name": "Shop",
            "kind": "store",
            "latitude": 48.8,
            "longitude": 2.3,
            "trace": {
                "channel": "web",
                "occurred_at": "2026-03-01T09:00:00+00:00",
                "idempotency_key": None,
                "source_ref": None,
                "reason": None,
                **(trace or {}),
            },
        },
    )


def test_off_the_ledger_imports_nothing_of_opentelemetry() -> None:
    script = (
        "import sys\n"
        "from configuration.settings import Settings\n"
        "from telemetry import tracing\n"
        "import api.app, cli.main, streams.relay, streams.faust_app, service_layer.writer_server\n"
        "assert not tracing.start(Settings.from_env({}), tracing.API)\n"
        "assert tracing.current_trace_id() is None\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert found.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"GLOW_TRACING": "maybe"}, "GLOW_TRACING"),
        ({"GLOW_TRACE_SAMPLE_RATIO": "1.5"}, "GLOW_TRACE_SAMPLE_RATIO"),
        ({"GLOW_TRACE_SAMPLE_RATIO": "-0.1"}, "GLOW_TRACE_SAMPLE_RATIO"),
        ({"GLOW_TRACE_SAMPLE_RATIO": "nan"}, "GLOW_TRACE_SAMPLE_RATIO"),
        ({"GLOW_TRACE_SAMPLE_RATIO": "half"}, "GLOW_TRACE_SAMPLE_RATIO"),
    ],
)
def test_settings_refuse_what_tracing_cannot_use(variables: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(variables)


def test_settings_read_tracing_and_give_it_back_to_a_child_process() -> None:
    settings = Settings.from_env({"GLOW_TRACING": "1", "GLOW_TRACE_SAMPLE_RATIO": "0.25"})
    assert (settings.tracing, settings.trace_sample_ratio) == (True, 0.25)
    assert Settings.from_env(settings.as_env()).tracing
    assert not Settings.from_env({}).tracing


def test_the_relays_messages_carry_a_span_of_their_requests_trace(
    spans: InMemorySpanExporter,
) -> None:
    page = PublishSpans()
    traced = page.headers(envelope(1, {"trace_id": TRACE_ID, "span_id": SPAN_ID}), "inventory")
    again = page.headers(envelope(2, {"trace_id": TRACE_ID, "span_id": SPAN_ID}), "inventory")
    unsampled = page.headers(envelope(3, {"trace_id": TRACE_ID}), "inventory")
    untraced = page.headers(envelope(4), "inventory")
    page.end()
    tracing.flush()  # the batch processor exports in the background
    [sent] = spans.get_finished_spans()
    assert sent.name == "send inventory"
    assert sent.kind == SpanKind.PRODUCER
    assert format(sent.context.trace_id, "032x") == TRACE_ID
    assert sent.parent is not None and format(sent.parent.span_id, "016x") == SPAN_ID
    assert sent.attributes is not None
    assert sent.attributes["messaging.batch.message_count"] == 2
    assert traced is not None and again == traced
    assert traced == [(TRACEPARENT, f"00-{TRACE_ID}-{sent.context.span_id:016x}-01".encode())]
    assert unsampled is None and untraced is None
    assert message_parent(traced) == (TRACE_ID, format(sent.context.span_id, "016x"))


def test_a_header_that_is_no_sampled_traceparent_names_no_parent(
    spans: InMemorySpanExporter,
) -> None:
    assert message_parent([(TRACEPARENT, b"00-zz-yy-01")]) is None
    assert message_parent([(TRACEPARENT, f"00-{TRACE_ID}-{SPAN_ID}-00".encode())]) is None
    assert message_parent({"other": b"x"}) is None
    assert message_parent(None) is None


def test_the_workers_write_continues_each_messages_trace(spans: InMemorySpanExporter) -> None:
    views = MemoryHotViews()
    projector = StreamProjector(Sinks(hot_views=views))
    other = "1" * 32
    delivered = [("p0", envelope(1)), ("p0", envelope(2)), ("p1", envelope(3))]
    parents = [(TRACE_ID, SPAN_ID), (TRACE_ID, SPAN_ID), (other, "2" * 16)]
    projector.apply(delivered, parents=parents)
    assert views.position("projector") == 3  # the write happened, and then the spans
    tracing.flush()
    written = sorted(spans.get_finished_spans(), key=lambda s: s.context.trace_id)
    assert [s.name for s in written] == ["hot_views write", "hot_views write"]
    assert all(s.kind == SpanKind.CONSUMER for s in written)
    by_trace = {format(s.context.trace_id, "032x"): s for s in written}
    assert set(by_trace) == {TRACE_ID, other}
    first = by_trace[TRACE_ID]
    assert first.parent is not None and format(first.parent.span_id, "016x") == SPAN_ID
    assert first.attributes is not None and first.attributes["glow.events"] == 2
    assert first.attributes["messaging.operation.type"] == "process"


def test_with_tracing_off_the_worker_makes_no_span() -> None:
    views = MemoryHotViews()
    projector = StreamProjector(Sinks(hot_views=views))
    exporter = InMemorySpanExporter()
    assert not tracing.start(Settings(tracing=False), tracing.WORKER, exporter)
    projector.apply([("p0", envelope(1))], parents=[(TRACE_ID, SPAN_ID)])
    assert views.position("projector") == 1
    assert exporter.get_finished_spans() == ()
