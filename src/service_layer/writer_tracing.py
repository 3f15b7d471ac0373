"""The writer's spans, when tracing is on (telemetry/tracing.py): one per command, one per
commit group.

A command's span (`writer <Command>`, kind SERVER, `rpc.system` glow-writer) is a child of
the request's span, whose `traceparent` the command's frame carried across the process
boundary (writer_frames.py), or which was active where it was submitted (writer_thread.py).
It runs from the command's arrival to its answer: waiting for a group, deciding, the commit,
a retry alone. It ends when the command is answered, through `TracedAnswer`, the Answerable
its outcome is set on.

A commit group's span (`commit group`, `db.operation.name` append) covers its transaction,
from sending it to landing it (writer_loop.py): one transaction serves many requests, so it
is the child of the first sampled command's span and links to every other one, as
OpenTelemetry's messaging conventions do for a batch.
Nothing here runs, or is imported, while tracing is off.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from domain.errors import DomainError
from service_layer.writer import Outcome
from service_layer.writer_slots import Answerable
from telemetry import tracing

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.trace import Span

    from service_layer.command_writer import Flight, Submission


class TracedAnswer:
    """An Answerable that ends its command's span when the command is answered."""

    __slots__ = ("inner", "span")

    def __init__(self, inner: Answerable, span: Span) -> None:
        self.inner = inner
        self.span = span

    def set_running_or_notify_cancel(self) -> bool:
        return self.inner.set_running_or_notify_cancel()

    def set_result(self, result: Outcome) -> None:
        span = self.span
        if result.replayed:
            span.set_attribute("glow.idempotent_replay", True)
        span.end()
        self.inner.set_result(result)

    def set_exception(self, exception: BaseException | None) -> None:
        if exception is not None:
            span = self.span
            if isinstance(exception, DomainError):  # a refusal: the ledger did its job
                span.set_attribute("glow.refusal", exception.code)
            else:
                from opentelemetry.trace import StatusCode

                span.set_status(StatusCode.ERROR, str(exception)[:200])
                span.set_attribute("error.type", type(exception).__qualname__)
        self.span.end()
        self.inner.set_exception(exception)

    def done(self) -> bool:
        return self.inner.done()


def traced_answer(answer: Answerable, command: object, parent: Context | None) -> Answerable:
    """`answer`, ending the command's span (a child of `parent`) once set; `answer` itself
    when tracing is off or the trace is not sampled."""
    tracer = tracing.TRACER
    if tracer is None or parent is None:
        return answer
    from opentelemetry.trace import SpanKind

    name = type(command).__name__
    span = tracer.start_span(
        f"writer {name}",
        context=parent,
        kind=SpanKind.SERVER,
        attributes={"rpc.system": "glow-writer", "rpc.method": name},
    )
    if not span.is_recording():
        return answer
    return TracedAnswer(answer, span)


def current_parent() -> Context | None:
    """The caller's context, when a command is submitted in this process."""
    if tracing.TRACER is None:
        return None
    from opentelemetry.context import get_current

    return get_current()


def start_commit(flight: Flight, events: int) -> Span | None:
    """The span of a commit group's transaction, if any of its commands is traced."""
    tracer = tracing.TRACER
    if tracer is None:
        return None
    spans = _command_spans(flight.submissions())
    if not spans:
        return None
    from opentelemetry.trace import Link, SpanKind, set_span_in_context

    return tracer.start_span(
        "commit group",
        context=set_span_in_context(spans[0]),
        kind=SpanKind.CLIENT,
        links=[Link(other.get_span_context()) for other in spans[1:]],
        attributes={
            "db.operation.name": "append",
            "glow.group.commands": len(flight.submissions()),
            "glow.group.events": events,
        },
    )


def end_commit(span: Span | None, committed: bool) -> None:
    if span is None:
        return
    if not committed:
        from opentelemetry.trace import StatusCode

        span.set_status(StatusCode.ERROR, "the group's transaction did not commit")
    span.end()


def _command_spans(submissions: list[Submission]) -> list[Any]:
    return [s.future.span for s in submissions if isinstance(s.future, TracedAnswer)]
