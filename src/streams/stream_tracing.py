"""Spans of the read side, when tracing is on (telemetry/tracing.py): the relay's sends and the
read models' writes, each continuing the trace of the request that made the events.

An event's trace records the request's trace and span ids when that trace was sampled
(domain/trace.py), and its envelope carries them. The relay sends a page at once, so it opens
one PRODUCER span per request and topic in the page (`send <topic>`, a child of the request's
span), from the first send to the broker's acknowledgement of the page, and each message
carries that span's W3C `traceparent` in its Kafka headers. A read model writes a batch at
once, so each sink's write gives one span per request in the batch (`<sink> write`), with the
batch's start and end: a CONSUMER span under the relay's span whose `traceparent` the
messages carried (the worker), or an INTERNAL one under the request's span (the embedded
follower, which reads the log itself). Nothing here runs, or is imported, while tracing is off.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from events.envelope import Envelope
from telemetry import tracing
from telemetry.tracing import Parent

if TYPE_CHECKING:
    from opentelemetry.trace import Span

TRACEPARENT = "traceparent"
Headers = list[tuple[str, bytes]]


class PublishSpans:
    """The relay's spans for one page: `headers(envelope, topic)` opens the span of the
    envelope's request and topic at its first message; `end` closes them all."""

    def __init__(self) -> None:
        self._spans: dict[tuple[Parent, str], tuple[Span, Headers]] = {}
        self._counts: dict[tuple[Parent, str], int] = {}

    def headers(self, envelope: Envelope, topic: str) -> Headers | None:
        parent = tracing.event_parent(envelope.payload)
        tracer = tracing.TRACER
        if parent is None or tracer is None:
            return None
        key = (parent, topic)
        found = self._spans.get(key)
        if found is None:
            from opentelemetry.trace import SpanKind

            span = tracer.start_span(
                f"send {topic}",
                context=tracing.parent_context(parent),
                kind=SpanKind.PRODUCER,
                attributes={
                    "messaging.system": "kafka",
                    "messaging.operation.type": "send",
                    "messaging.operation.name": "send",
                    "messaging.destination.name": topic,
                },
            )
            found = span, [(TRACEPARENT, tracing.traceparent_of(span).encode())]
            self._spans[key] = found
        self._counts[key] = self._counts.get(key, 0) + 1
        return found[1]

    def end(self, error: BaseException | None = None) -> None:
        for key, (span, _) in self._spans.items():
            span.set_attribute("messaging.batch.message_count", self._counts[key])
            if error is not None:
                from opentelemetry.trace import StatusCode

                span.set_status(StatusCode.ERROR, type(error).__name__)
                span.set_attribute("error.type", type(error).__qualname__)
            span.end()
        self._spans.clear()


def message_parent(
    headers: Sequence[tuple[str, bytes]] | Mapping[str, bytes] | None,
) -> Parent | None:
    """(trace id, span id) of the sampled `traceparent` a Kafka message carries, if any."""
    if not headers or tracing.TRACER is None:
        return None
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    for name, value in pairs:
        if name == TRACEPARENT and isinstance(value, bytes):
            return tracing.parent_of_traceparent(value.decode("latin-1"))
    return None


def envelope_parents(envelopes: Iterable[Envelope]) -> list[Parent | None]:
    return [tracing.event_parent(envelope.payload) for envelope in envelopes]


@contextmanager
def write_spans(
    sink: str, parents: Sequence[Parent | None], *, consumer: bool, position: int
) -> Iterator[None]:
    """Around a sink's write of a batch: then one `<sink> write` span per request whose
    events were in it (`parents`: each event's, in the batch's order), when tracing is on.
    A write that raises gives none (the batch is written again, or its events set aside)."""
    started = time.time_ns()
    yield
    ended = time.time_ns()
    attributes: dict[str, tracing.AttributeValue] = {
        "glow.sink": sink,
        "glow.log.position": position,
    }
    if consumer:
        attributes.update(
            {
                "messaging.system": "kafka",
                "messaging.operation.type": "process",
                "messaging.operation.name": "process",
            }
        )
    tracing.record_batch(
        f"{sink} write",
        parents,
        started,
        ended,
        "CONSUMER" if consumer else "INTERNAL",
        attributes,
        "glow.events",
    )
