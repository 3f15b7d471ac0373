"""Ended spans as compact records (tuples of ints, strings and plain containers), and back.

A traced process does not encode its spans for OTLP itself: its span processor
(span_shipping.py) turns each ended span into a record and ships records in batches to an
exporter process (exporter_process.py), which turns them back into the SDK's ReadableSpans
and exports them with the SDK's own batch processor and OTLP exporter. A record keeps all
that OTLP exports of a span: name, kind, ids, trace flags and state, parent (and whether it
was remote), times, attributes, events, links, status and the instrumentation scope; the
resource (`service.name`) is the exporter process's, which is started with the traced
process's name.

Records are made with `marshal` in mind (ints, floats, strings, bools, None, tuples, lists,
dicts): a batch is `marshal.dumps`-ed in one C call, far cheaper than the protobuf encoding
it spares the traced process.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.trace import SpanContext

# name, kind, trace id, span id, trace flags, trace state, parent span id (0: a root),
# parent is remote, start ns, end ns, attributes, status code, status description, links
# ((trace id, span id, flags, trace state, remote, attributes), ...), events
# ((name, ns, attributes), ...), scope name, scope version
Record = tuple[Any, ...]


def record_of(span: ReadableSpan) -> Record:
    """The record of an ended span."""
    context = span.get_span_context()
    assert context is not None, "an ended span has its context"
    parent = span.parent
    status = span.status
    links = span.links
    events = span.events
    scope = span.instrumentation_scope
    return (
        span.name,
        span.kind.value,
        context.trace_id,
        context.span_id,
        int(context.trace_flags),
        tuple(context.trace_state.items()) if context.trace_state else (),
        parent.span_id if parent is not None else 0,
        parent.is_remote if parent is not None else False,
        span.start_time,
        span.end_time,
        _plain(span.attributes),
        status.status_code.value,
        status.description,
        tuple(
            (
                link.context.trace_id,
                link.context.span_id,
                int(link.context.trace_flags),
                tuple(link.context.trace_state.items()) if link.context.trace_state else (),
                link.context.is_remote,
                _plain(link.attributes),
            )
            for link in links
        )
        if links
        else (),
        tuple((event.name, event.timestamp, _plain(event.attributes)) for event in events)
        if events
        else (),
        scope.name if scope is not None else "",
        scope.version if scope is not None else None,
    )


def span_of(record: Record, resource: Resource) -> ReadableSpan:
    """The ReadableSpan a record was made of, in `resource`."""
    from opentelemetry.sdk.trace import Event, ReadableSpan
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
    from opentelemetry.trace import Link, SpanKind
    from opentelemetry.trace.status import Status, StatusCode

    (
        name,
        kind,
        trace_id,
        span_id,
        flags,
        state,
        parent_id,
        parent_remote,
        start,
        end,
        attributes,
        status_code,
        status_description,
        links,
        events,
        scope_name,
        scope_version,
    ) = record
    context = _context(trace_id, span_id, flags, state, remote=False)
    parent = _context(trace_id, parent_id, flags, (), parent_remote) if parent_id else None
    code = StatusCode(status_code)
    return ReadableSpan(
        name=name,
        context=context,
        parent=parent,
        resource=resource,
        attributes=attributes,
        events=[Event(e_name, e_attributes, e_ns) for e_name, e_ns, e_attributes in events],
        links=[
            Link(_context(l_trace, l_span, l_flags, l_state, l_remote), l_attributes)
            for l_trace, l_span, l_flags, l_state, l_remote, l_attributes in links
        ],
        kind=SpanKind(kind),
        # The SDK keeps a description only for an error status (and warns on any other).
        status=Status(code, status_description if code is StatusCode.ERROR else None),
        start_time=start,
        end_time=end,
        instrumentation_scope=InstrumentationScope(scope_name, scope_version),
    )


def _context(
    trace_id: int, span_id: int, flags: int, state: tuple[tuple[str, str], ...], remote: bool
) -> SpanContext:
    from opentelemetry.trace import SpanContext, TraceFlags, TraceState

    return SpanContext(
        trace_id,
        span_id,
        is_remote=remote,
        trace_flags=TraceFlags(flags),
        trace_state=TraceState(list(state)) if state else None,
    )


def _plain(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    """A plain dict of the attributes, sequences as tuples (what marshal and OTLP take)."""
    if not attributes:
        return {}
    return {
        key: value if type(value) in _SCALARS else tuple(value) for key, value in attributes.items()
    }


_SCALARS = frozenset({str, int, float, bool})
