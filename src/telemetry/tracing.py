"""OpenTelemetry tracing for every process of the ledger, when GLOW_TRACING is on.

Off (the default), nothing of OpenTelemetry is imported and `TRACER` stays None: every hot path
asks `tracing.TRACER is not None` (one attribute look-up) and does nothing more. On, `start`
gives the process a TracerProvider named after it (`service.name`: glow-api, glow-writer,
glow-relay, glow-worker; OTEL_SERVICE_NAME wins when an operator sets it), a parent-based
ratio sampler (GLOW_TRACE_SAMPLE_RATIO of the traces this ledger starts; a caller's sampled
`traceparent` is followed) and spans exported over OTLP/HTTP protobuf to where
OpenTelemetry's own variables say (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or
OTEL_EXPORTER_OTLP_ENDPOINT, default http://localhost:4318) by an exporter process of its own
(span_shipping.py, exporter_process.py: the SDK's batch processor and OTLP exporter, so that
encoding never holds this process's interpreter lock). Spans are exported in the background,
in batches; an unreachable collector loses spans, never slows a command.

Ids cross process boundaries as W3C Trace Context: a `traceparent` string in the writer's
frames and the Kafka message headers, and (trace id, span id) in each event's trace.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from configuration.settings import Settings
from configuration.trace_ids import use_trace_ids

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Link, Span, SpanKind, Tracer

    from telemetry.span_records import Record

log = logging.getLogger(__name__)

API, WRITER, RELAY, WORKER = "glow-api", "glow-writer", "glow-relay", "glow-worker"
TRACER: Tracer | None = None  # None: tracing is off in this process
_provider: TracerProvider | None = None
_ship: Callable[[Record], None] | None = None  # exports a span given as its record

AttributeValue = str | bool | int | float
Attributes = Mapping[str, AttributeValue]
Parent = tuple[str, str]  # (trace id, span id), 32 and 16 lower-case hex digits


def start(settings: Settings, service_name: str, exporter: SpanExporter | None = None) -> bool:
    """Trace this process if the settings say so (once; a second call keeps the first
    provider). `exporter` replaces OTLP (tests). True when tracing is on."""
    global TRACER, _provider, _ship
    if not settings.tracing:
        return False
    if TRACER is not None:
        return True
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    provider = TracerProvider(
        resource=Resource.create({SERVICE_NAME: service_name}),
        sampler=ParentBased(TraceIdRatioBased(settings.trace_sample_ratio)),
    )
    processor: SpanProcessor
    if exporter is None:  # OTLP, encoded and sent by an exporter process of its own
        from telemetry.span_shipping import ShippingSpanProcessor

        processor = shipping = ShippingSpanProcessor(service_name)
        _ship = shipping.ship
    else:
        from telemetry.span_records import span_of

        processor = BatchSpanProcessor(exporter)
        resource = provider.resource
        _ship = lambda record: processor.on_end(span_of(record, resource))  # noqa: E731
    provider.add_span_processor(processor)
    _provider = provider
    TRACER = provider.get_tracer("glowledger")
    use_trace_ids(current_trace_id)  # log lines name the active span's trace
    log.info(
        "tracing on as %s, sampling %s of new traces", service_name, settings.trace_sample_ratio
    )
    return True


def stop() -> None:
    """Export what is buffered and stop tracing in this process."""
    global TRACER, _provider, _ship
    provider, _provider, TRACER, _ship = _provider, None, None, None
    use_trace_ids(None)
    if provider is not None:
        provider.shutdown()


def flush(timeout_millis: int = 10_000) -> bool:
    """Export every span ended so far (tests, and a process about to exit)."""
    return _provider.force_flush(timeout_millis) if _provider is not None else True


# --- spans made as records (span_records.py), without the SDK's Span: the writer's ---------


def ship(record: Record) -> None:
    """Export the span of `record` (nothing when tracing is off)."""
    if _ship is not None:
        _ship(record)


def new_span_id() -> int:
    """A span id from the SDK's id generator."""
    assert _provider is not None, "tracing is off"
    return _provider.id_generator.generate_span_id()


# --- the active span ---------------------------------------------------------------------


def current_trace_id() -> str | None:
    """The active span's trace id (32 hex digits), for log lines; None when tracing is off or
    no span is active."""
    if TRACER is None:
        return None
    from opentelemetry.trace import get_current_span

    context = get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def current_ids() -> tuple[str | None, str | None]:
    """(trace id, span id) of the active span, as an event's trace records them: the span id
    only when the trace is sampled (a span nobody exports names nothing)."""
    if TRACER is None:
        return None, None
    from opentelemetry.trace import get_current_span

    context = get_current_span().get_span_context()
    if not context.is_valid:
        return None, None
    span_id = format(context.span_id, "016x") if context.trace_flags.sampled else None
    return format(context.trace_id, "032x"), span_id


def current_traceparent() -> str | None:
    """The active span as a W3C `traceparent` header value; None without one."""
    if TRACER is None:
        return None
    from opentelemetry.trace import get_current_span

    context = get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


def traceparent_of(span: Span) -> str:
    context = span.get_span_context()
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


def extracted(carrier: Mapping[str, str]) -> Context:
    """The context a caller sent (`traceparent`, `tracestate`); an empty one if it sent none,
    or one that does not parse (it is then ignored, as W3C Trace Context says)."""
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    return TraceContextTextMapPropagator().extract(carrier)


def parent_context(parent: Parent) -> Context:
    """A sampled remote parent, from the ids an event's trace recorded."""
    from opentelemetry.trace import (
        NonRecordingSpan,
        SpanContext,
        TraceFlags,
        set_span_in_context,
    )

    trace_id, span_id = parent
    context = SpanContext(
        int(trace_id, 16), int(span_id, 16), is_remote=True, trace_flags=TraceFlags(1)
    )
    return set_span_in_context(NonRecordingSpan(context))


def parent_of_traceparent(value: str) -> Parent | None:
    """(trace id, span id) of a sampled `traceparent`; None when it is unsampled or invalid."""
    from opentelemetry.trace import get_current_span

    context = get_current_span(extracted({"traceparent": value})).get_span_context()
    if not context.is_valid or not context.trace_flags.sampled:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def link_to(span: Span) -> Link:
    from opentelemetry.trace import Link

    return Link(span.get_span_context())


def kind(name: str) -> SpanKind:
    from opentelemetry.trace import SpanKind

    return SpanKind[name]


def record_batch(
    name: str,
    parents: Iterable[Parent | None],
    start_ns: int,
    end_ns: int,
    span_kind: str,
    attributes: Attributes,
    counted: str,
) -> list[tuple[Parent, Span]]:
    """One span per distinct parent in `parents` (each a trace a batch of work served), all
    with the batch's start and end: a batch written at once is each trace's write. `counted`
    names the attribute holding how many of the batch's items each trace had."""
    tracer = TRACER
    if tracer is None:
        return []
    counts: dict[Parent, int] = {}
    for parent in parents:
        if parent is not None:
            counts[parent] = counts.get(parent, 0) + 1
    if not counts:
        return []
    spans = []
    span_kind_value = kind(span_kind)
    for parent, count in counts.items():
        span = tracer.start_span(
            name,
            context=parent_context(parent),
            kind=span_kind_value,
            attributes={**attributes, counted: count},
            start_time=start_ns,
        )
        span.end(end_time=end_ns)
        spans.append((parent, span))
    return spans


def event_parent(payload: Mapping[str, Any]) -> Parent | None:
    """(trace id, span id) an envelope's payload trace recorded, if it was sampled."""
    trace = payload.get("trace")
    if type(trace) is not dict:
        return None
    trace_id, span_id = trace.get("trace_id"), trace.get("span_id")
    if isinstance(trace_id, str) and isinstance(span_id, str) and _ids(trace_id, span_id):
        return trace_id, span_id
    return None


_HEX = frozenset("0123456789abcdef")


def _ids(trace_id: str, span_id: str) -> bool:
    return _hex(trace_id, 32) and _hex(span_id, 16)


def _hex(value: str, digits: int) -> bool:
    """`digits` lower-case hex digits, not all zero (W3C's invalid id)."""
    return len(value) == digits and _HEX.issuperset(value) and value.strip("0") != ""


def links(spans: Sequence[Span]) -> list[Link]:
    return [link_to(span) for span in spans]
