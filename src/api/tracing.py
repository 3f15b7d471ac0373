"""The HTTP server span of every request, and the request's trace for events and log lines.

GlowApp.__call__ (api/command_gateway.py) hands each HTTP request here when tracing is on
(telemetry/tracing.py), before the command gateway or Starlette sees it, so commands on the
gateway's fast path and every other route get the same span: named `METHOD route`, with
OpenTelemetry's HTTP server attributes (`http.request.method`, `url.path`, `url.scheme`,
`http.route`, `http.response.status_code`, `error.type` for a 5xx). A caller's W3C
`traceparent` is continued. The span is the active one while the request is served: builders
record its ids in the events' traces (`traced`), log lines name it (`current_trace_id`), the
writer client sends it to the writer process.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from api.access import ROUTE_KEY
from domain.trace import Trace
from telemetry import tracing
from telemetry.tracing import current_trace_id

__all__ = ["TRACED", "current_trace_id", "serve_traced", "traced"]

TRACED = "glow.traced"  # set in a scope whose request has its span already
_METHODS = frozenset(
    {"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE"}
)
_PROPAGATED = (b"traceparent", b"tracestate")


def traced(trace: Trace) -> Trace:
    """`trace` in the active request's trace (its ids), or as it is when tracing is off."""
    if tracing.TRACER is None:
        return trace
    return trace.traced(*tracing.current_ids())


async def serve_traced(
    app: Callable[[Scope, Receive, Send], Awaitable[None]],
    scope: Scope,
    receive: Receive,
    send: Send,
) -> None:
    """Serve one HTTP request with `app` inside its server span."""
    tracer = tracing.TRACER
    if tracer is None:
        await app(scope, receive, send)
        return
    from opentelemetry import context as otel_context
    from opentelemetry.trace import SpanKind, StatusCode, set_span_in_context

    carrier = {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in scope["headers"]
        if name in _PROPAGATED
    }
    method = scope["method"]
    known = method if method in _METHODS else "_OTHER"
    attributes: dict[str, Any] = {
        "http.request.method": known,
        "url.path": scope["path"],
        "url.scheme": scope.get("scheme", "http"),
    }
    if known != method:
        attributes["http.request.method_original"] = method
    span = tracer.start_span(
        known if known != "_OTHER" else "HTTP",
        context=tracing.extracted(carrier) if carrier else None,
        kind=SpanKind.SERVER,
        attributes=attributes,
    )
    status = 0

    async def send_noting_status(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        await send(message)

    scope[TRACED] = True
    token = otel_context.attach(set_span_in_context(span))
    try:
        await app(scope, receive, send_noting_status)
    except BaseException as error:
        span.set_status(StatusCode.ERROR, type(error).__name__)
        span.set_attribute("error.type", type(error).__qualname__)
        raise
    finally:
        route = scope.get(ROUTE_KEY)
        if route is not None:
            span.set_attribute("http.route", route[1])
            span.update_name(f"{known} {route[1]}")
        if status:
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.set_status(StatusCode.ERROR)
                span.set_attribute("error.type", str(status))
        span.end()
        otel_context.detach(token)
