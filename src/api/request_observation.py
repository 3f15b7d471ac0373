"""Every HTTP request observed once, on both paths (the command gateway and Starlette): its
request id (a sane incoming X-Request-Id, else a new one; echoed in the answer), one log line
(logger `glow.requests`, JSON by default: configuration/logs.py) and its RED metrics.

The line holds what an operator aggregates and correlates, never personal data: the request
and trace ids, the method, the route's template (`/customers/{customer_id}`), the path only
when a route matched (paths of routes name codes and pseudonymous UUIDs; an unmatched path is
whatever a client typed), the status, the latency, and the caller's token subject, role and
channel. A subject is pseudonymous here (an integration, a till, a customer's id); one that
looks like an email address (an outside identity provider's) is logged as `[redacted]`.

Metrics are labelled by route template, so their cardinality is bounded by the route tables;
requests that matched no route share one label, `unmatched`."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import Counter, Histogram
from starlette.types import Message, Receive, Scope, Send

from api.access import PRINCIPAL_KEY, ROUTE_KEY
from api.auth import Principal
from configuration.trace_ids import current_trace_id

REQUESTS = Counter(
    "glow_http_requests_total",
    "HTTP requests answered, by route template, method and status",
    ["route", "method", "status"],
)
DURATION = Histogram(
    "glow_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by route template and method",
    ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
UNMATCHED = "unmatched"
REQUEST_ID_KEY = "glow.request_id"
REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

requests_log = logging.getLogger("glow.requests")

App = Callable[[Scope, Receive, Send], Awaitable[None]]


def request_id(scope: Scope) -> str:
    """The caller's X-Request-Id when it is 1 to 128 letters, digits and `. _ : -`
    (starting with a letter or digit), else a new one."""
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            sent: str = value.decode("latin-1")
            if REQUEST_ID.fullmatch(sent):
                return sent
            break
    return uuid.uuid4().hex


def logged_subject(subject: str) -> str:
    return "[redacted]" if "@" in subject else subject


class RequestObserver:
    def __init__(self) -> None:
        self._counted: dict[tuple[str, str, int], Any] = {}
        self._timed: dict[tuple[str, str], Any] = {}

    async def observe(self, scope: Scope, receive: Receive, send: Send, app: App) -> None:
        started = time.perf_counter()
        rid = scope[REQUEST_ID_KEY] = request_id(scope)
        echoed = (b"x-request-id", rid.encode())
        answer: dict[str, Any] = {"status": 500, "trace_id": None}

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["trace_id"] = current_trace_id()
                message = {**message, "headers": [*message.get("headers", ()), echoed]}
            await send(message)

        try:
            await app(scope, receive, sending)
        finally:
            self._record(scope, rid, answer, time.perf_counter() - started)

    def _record(self, scope: Scope, rid: str, answer: dict[str, Any], seconds: float) -> None:
        method: str = scope["method"] if scope["method"] in METHODS else "other"
        matched = scope.get(ROUTE_KEY)
        route = matched[1] if matched else UNMATCHED
        status: int = answer["status"]
        key = (route, method, status)
        counter = self._counted.get(key)
        if counter is None:
            counter = self._counted[key] = REQUESTS.labels(route, method, str(status))
        counter.inc()
        timer = self._timed.get(key[:2])
        if timer is None:
            timer = self._timed[key[:2]] = DURATION.labels(route, method)
        timer.observe(seconds)
        if not requests_log.isEnabledFor(logging.INFO):
            return
        found = scope.get(PRINCIPAL_KEY)
        principal = found if isinstance(found, Principal) else None
        milliseconds = round(seconds * 1000, 2)
        requests_log.info(
            "%s %s %s %.1f ms",
            method,
            route,
            status,
            milliseconds,
            extra={
                "request_id": rid,
                "trace_id": answer["trace_id"] or current_trace_id(),
                "method": method,
                "route": route,
                "path": scope["path"] if matched else None,
                "status": status,
                "latency_ms": milliseconds,
                "subject": logged_subject(principal.subject) if principal else None,
                "role": principal.role if principal else None,
                "channel": principal.channel if principal else None,
            },
        )
