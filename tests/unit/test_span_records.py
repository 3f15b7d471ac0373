"""Span records (telemetry/span_records.py): what a traced process ships to its exporter
process is, rebuilt, the very span OTLP would have exported; and the writer's spans, made as
records, keep their parent, sampling and outcome."""

from __future__ import annotations

import marshal
from collections.abc import Iterator

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    StatusCode,
    TraceFlags,
    TraceState,
    set_span_in_context,
)

from configuration.settings import Settings
from domain.errors import InsufficientStockError
from service_layer.writer import Outcome
from service_layer.writer_tracing import CommitSpan, TracedAnswer, end_commit, traced_answer
from telemetry import tracing
from telemetry.span_records import record_of, span_of

TRACE_ID, SPAN_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736, 0x00F067AA0BA902B7
SAMPLED = f"00-{TRACE_ID:032x}-{SPAN_ID:016x}-01"


def ended_spans() -> list[ReadableSpan]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "glow-test"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("glowledger", "1.0")
    remote = SpanContext(
        TRACE_ID,
        SPAN_ID,
        is_remote=True,
        trace_flags=TraceFlags(1),
        trace_state=TraceState([("vendor", "v1")]),
    )
    child = tracer.start_span(
        "writer PlaceReservation",
        context=set_span_in_context(NonRecordingSpan(remote)),
        kind=SpanKind.SERVER,
        attributes={"rpc.method": "PlaceReservation", "n": 3, "ratio": 0.5, "ok": True},
        links=[Link(remote, {"why": "batch"})],
    )
    child.set_attribute("tags", ("a", "b"))
    child.add_event("retried", {"attempt": 2})
    child.set_status(StatusCode.ERROR, "the group's transaction did not commit")
    child.end()
    root = tracer.start_span("POST /reservations", kind=SpanKind.CLIENT)
    root.end()
    return list(exporter.get_finished_spans())


def test_a_record_rebuilds_the_span_that_otlp_exports_byte_for_byte() -> None:
    originals = ended_spans()
    resource = originals[0].resource
    shipped = marshal.loads(marshal.dumps([record_of(span) for span in originals]))
    rebuilt = [span_of(record, resource) for record in shipped]
    assert encode_spans(rebuilt).SerializeToString() == encode_spans(originals).SerializeToString()
    # and what it encodes is what was made: nothing lost on the way
    child = rebuilt[0]
    assert child.parent is not None and child.parent.is_remote
    assert child.status.description == "the group's transaction did not commit"
    assert child.attributes is not None and child.attributes["tags"] == ("a", "b")
    assert child.events[0].name == "retried"
    assert child.links[0].context.span_id == SPAN_ID


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    assert tracing.start(Settings(tracing=True), tracing.WRITER, exporter)
    try:
        yield exporter
    finally:
        tracing.stop()


class Answer:
    def __init__(self) -> None:
        self.outcome: object = None

    def set_running_or_notify_cancel(self) -> bool:
        return True

    def set_result(self, result: Outcome) -> None:
        self.outcome = result

    def set_exception(self, exception: BaseException | None) -> None:
        self.outcome = exception

    def done(self) -> bool:
        return self.outcome is not None


def test_the_writers_spans_continue_the_request_and_keep_their_outcome(
    spans: InMemorySpanExporter,
) -> None:
    placed, refused = Answer(), Answer()
    first = traced_answer(placed, object(), SAMPLED, 1_000)
    second = traced_answer(refused, object(), SAMPLED.replace("b7-01", "b8-01"), 2_000)
    assert isinstance(first, TracedAnswer) and isinstance(second, TracedAnswer)
    commit = CommitSpan([first, second], 2, 5)
    end_commit(commit, committed=True)
    first.set_result(Outcome({"ok": True}, created=True, replayed=True))
    refusal = InsufficientStockError("3 asked, 1 available", available=1)
    second.set_exception(refusal)
    assert placed.outcome is not None and refused.outcome is refusal
    tracing.flush()

    found = {(s.name, s.context.span_id): s for s in spans.get_finished_spans()}
    writer = found["writer object", first.span_id]
    assert writer.parent is not None
    assert (writer.context.trace_id, writer.parent.span_id) == (TRACE_ID, SPAN_ID)
    assert writer.kind is SpanKind.SERVER and writer.start_time == 1_000
    assert writer.attributes is not None and writer.attributes["glow.idempotent_replay"]
    other = found["writer object", second.span_id]
    assert other.attributes is not None and other.attributes["glow.refusal"] == refusal.code
    assert other.status.status_code is StatusCode.UNSET  # a refusal is the ledger's answer
    group = next(s for s in found.values() if s.name == "commit group")
    assert group.parent is not None and group.parent.span_id == first.span_id
    assert [link.context.span_id for link in group.links] == [second.span_id]
    assert group.attributes is not None and group.attributes["glow.group.commands"] == 2


def test_a_command_of_an_unsampled_or_broken_trace_gets_no_span(
    spans: InMemorySpanExporter,
) -> None:
    answer = Answer()
    for parent in (None, SAMPLED[:-2] + "00", "00-" + "0" * 32 + "-" + "1" * 16 + "-01", "junk"):
        assert traced_answer(answer, object(), parent) is answer
    tracing.flush()
    assert spans.get_finished_spans() == ()
