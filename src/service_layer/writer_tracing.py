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

The writer's one thread is the ledger's throughput ceiling, so these spans are not the SDK's
Span objects (sampler, span limits, processors: tens of microseconds each): every one has a
remote parent, the request's, so whether it is recorded is that parent's sampled flag (what
the SDK's parent-based sampler decides), and it is made at its end as a span record
(telemetry/span_records.py) with an id from the SDK's id generator, which the process's
exporter ships, encodes and exports as any other span. Nothing here runs, or is imported,
while tracing is off.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from domain.errors import DomainError
from service_layer.writer import Outcome
from service_layer.writer_slots import Answerable
from telemetry import tracing

if TYPE_CHECKING:
    from service_layer.command_writer import Flight, Submission
    from telemetry.span_records import Record

# OpenTelemetry's enumerations, by value (a record holds the values)
_INTERNAL, _SERVER, _CLIENT = 0, 1, 2
_UNSET, _ERROR = 0, 2
_SCOPE = "glowledger"


class TracedAnswer:
    """An Answerable that ends its command's span when the command is answered."""

    __slots__ = ("flags", "inner", "method", "parent_id", "span_id", "started", "trace_id")

    def __init__(
        self, inner: Answerable, method: str, parent: tuple[int, int, int], started: int
    ) -> None:
        self.inner = inner
        self.method = method
        self.trace_id, self.parent_id, self.flags = parent
        self.span_id = tracing.new_span_id()
        self.started = started

    def set_running_or_notify_cancel(self) -> bool:
        return self.inner.set_running_or_notify_cancel()

    def set_result(self, result: Outcome) -> None:
        attributes: dict[str, Any] = {"rpc.system": "glow-writer", "rpc.method": self.method}
        if result.replayed:
            attributes["glow.idempotent_replay"] = True
        tracing.ship(self._record(attributes, _UNSET, None))
        self.inner.set_result(result)

    def set_exception(self, exception: BaseException | None) -> None:
        attributes: dict[str, Any] = {"rpc.system": "glow-writer", "rpc.method": self.method}
        status, description = _UNSET, None
        if isinstance(exception, DomainError):  # a refusal: the ledger did its job
            attributes["glow.refusal"] = exception.code
        elif exception is not None:
            status, description = _ERROR, str(exception)[:200]
            attributes["error.type"] = type(exception).__qualname__
        tracing.ship(self._record(attributes, status, description))
        self.inner.set_exception(exception)

    def done(self) -> bool:
        return self.inner.done()

    def _record(self, attributes: dict[str, Any], status: int, description: str | None) -> Record:
        return (
            f"writer {self.method}",
            _SERVER,
            self.trace_id,
            self.span_id,
            self.flags,
            (),
            self.parent_id,
            True,  # the request's span, in the API process
            self.started,
            time.time_ns(),
            attributes,
            status,
            description,
            (),
            (),
            _SCOPE,
            None,
        )


def traced_answer(
    answer: Answerable, command: object, traceparent: str | None, arrived: int | None = None
) -> Answerable:
    """`answer`, ending the command's span (a child of the request whose `traceparent` it
    is, arrived at `arrived` ns since the epoch, now if None) once set; `answer` itself when
    tracing is off, or there is no parent, or its trace is not sampled."""
    if tracing.TRACER is None or traceparent is None:
        return answer
    parent = _sampled_parent(traceparent)
    if parent is None:
        return answer
    started = time.time_ns() if arrived is None else arrived
    return TracedAnswer(answer, type(command).__name__, parent, started)


def current_parent() -> str | None:
    """The caller's `traceparent`, when a command is submitted in this process."""
    return tracing.current_traceparent()


class CommitSpan:
    """A commit group's span while its transaction is in flight."""

    __slots__ = ("commands", "events", "started", "traced")

    def __init__(self, traced: list[TracedAnswer], commands: int, events: int) -> None:
        self.traced = traced
        self.commands = commands
        self.events = events
        self.started = time.time_ns()


def start_commit(flight: Flight, events: int) -> CommitSpan | None:
    """The span of a commit group's transaction, if any of its commands is traced."""
    if tracing.TRACER is None:
        return None
    submissions = flight.submissions()
    traced = _traced(submissions)
    if not traced:
        return None
    return CommitSpan(traced, len(submissions), events)


def end_commit(span: CommitSpan | None, committed: bool) -> None:
    if span is None:
        return
    first, others = span.traced[0], span.traced[1:]
    record: Record = (
        "commit group",
        _CLIENT,
        first.trace_id,
        tracing.new_span_id(),
        first.flags,
        (),
        first.span_id,
        False,
        span.started,
        time.time_ns(),
        {
            "db.operation.name": "append",
            "glow.group.commands": span.commands,
            "glow.group.events": span.events,
        },
        _UNSET if committed else _ERROR,
        None if committed else "the group's transaction did not commit",
        tuple((o.trace_id, o.span_id, o.flags, (), False, {}) for o in others),
        (),
        _SCOPE,
        None,
    )
    tracing.ship(record)


def _traced(submissions: list[Submission]) -> list[TracedAnswer]:
    return [s.future for s in submissions if isinstance(s.future, TracedAnswer)]


_HEX = frozenset("0123456789abcdef")


def _sampled_parent(traceparent: str) -> tuple[int, int, int] | None:
    """(trace id, span id, flags) of a sampled W3C `traceparent`; None for one that is not
    sampled or not valid. The writer's frames carry what writer_client made (version 00,
    lower-case hex); anything else goes through the SDK's propagator."""
    parts = traceparent.split("-")
    if (
        len(parts) == 4
        and parts[0] == "00"
        and len(parts[1]) == 32
        and len(parts[2]) == 16
        and len(parts[3]) == 2
        and _HEX.issuperset(parts[1] + parts[2] + parts[3])
    ):
        trace_id, span_id, flags = int(parts[1], 16), int(parts[2], 16), int(parts[3], 16)
        if trace_id == 0 or span_id == 0:
            return None
    else:
        from opentelemetry.trace import get_current_span

        found = get_current_span(tracing.extracted({"traceparent": traceparent}))
        context = found.get_span_context()
        if not context.is_valid:
            return None
        trace_id, span_id, flags = context.trace_id, context.span_id, int(context.trace_flags)
    return (trace_id, span_id, flags) if flags & 1 else None
