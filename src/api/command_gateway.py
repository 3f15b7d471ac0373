"""The command routes served straight from ASGI, ahead of Starlette's middleware stack.

A command is the hot path: channels send thousands a second. Through Starlette each one
passes the error middleware, the access middleware (which matches the path against every
route), the exception middleware and the router (which matches it again), each wrapping
`send` in another closure; on this machine that was about a third of the server's CPU per
command. The gateway finds a command route by a dict lookup (or one regex for the few with
path parameters), applies the same access rule with the same refusal, runs the same endpoint
and maps errors with the same handlers as the Starlette app. Every other request, and any
POST that is not a command, goes through Starlette unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import Receive, Scope, Send

from api.access import PRINCIPAL_KEY, ROUTE_KEY, Access, refusal
from api.auth import Principal, TokenVerifier
from api.header_limits import header_refusal
from api.rate_limits import RateLimiter, acting_channel
from api.rate_limits import refusal as rate_refusal
from api.request_observation import RequestObserver
from api.tracing import TRACED, serve_traced
from telemetry import tracing

Endpoint = Callable[[Request], Awaitable[Response]]
Handler = Callable[[Request, Exception], Awaitable[Response]]


class CommandGateway:
    def __init__(
        self,
        routes: list[Route],
        verifier: TokenVerifier,
        rules: Mapping[tuple[str, str], Access],
        handlers: Mapping[type[BaseException], Handler],
        limiter: RateLimiter | None = None,
    ) -> None:
        self.verifier = verifier
        self.handlers = handlers
        self.limiter = limiter
        self._static: dict[str, tuple[Route, Access | None]] = {}
        self._dynamic: list[tuple[Route, Access | None]] = []
        for route in routes:
            access = rules.get(("POST", route.path))
            if route.param_convertors:
                self._dynamic.append((route, access))
            else:
                self._static.setdefault(route.path, (route, access))

    def match(self, scope: Scope) -> tuple[Route, Access | None, dict[str, Any]] | None:
        found = self._static.get(scope["path"])
        if found is not None:
            return found[0], found[1], {}
        for route, access in self._dynamic:
            matched, child = route.matches(scope)
            if matched == Match.FULL:
                return route, access, child["path_params"]
        return None

    async def serve(
        self,
        found: tuple[Route, Access | None, dict[str, Any]],
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        route, access, path_params = found
        scope["path_params"] = path_params
        scope[ROUTE_KEY] = ("POST", route.path)  # as AccessControl notes it for the others
        refused = refusal(self.verifier, scope, access, path_params)
        if refused is not None:
            await refused(scope, receive, send)
            return
        fields: list[tuple[bytes, bytes]] = []
        principal = scope.get(PRINCIPAL_KEY)
        if self.limiter is not None and isinstance(principal, Principal):
            verdict = await self.limiter.admit(principal, acting_channel(scope, principal), 1)
            if verdict.refused is not None:
                await rate_refusal(verdict, scope["path"])(scope, receive, send)
                return
            fields = verdict.fields(time.time())
        request = Request(scope, receive)
        endpoint: Endpoint = route.endpoint
        try:
            response = await endpoint(request)
        except Exception as error:
            response = await self._handler(error)(request, error)
        response.raw_headers.extend(fields)
        await response(scope, receive, send)

    def _handler(self, error: Exception) -> Handler:
        for kind in type(error).__mro__:
            handler = self.handlers.get(kind)
            if handler is not None:
                return handler
        raise error


class GlowApp(Starlette):
    """Starlette, with the command routes served by a CommandGateway first, every request's
    headers counted and sized before either looks at them, and every request observed (its
    log line, its metrics, its X-Request-Id: api/request_observation.py) on both paths; with
    tracing on, inside the request's server span (api/tracing.py), whichever path serves it."""

    gateway: CommandGateway | None = None
    max_header_count: int = 64
    max_header_bytes: int = 16 * 1024
    observer: RequestObserver = RequestObserver()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if tracing.TRACER is not None and scope["type"] == "http" and TRACED not in scope:
            await serve_traced(self, scope, receive, send)  # comes back here, marked TRACED
            return
        if scope["type"] == "http":
            await self.observer.observe(scope, receive, send, self._serve_http)
            return
        await super().__call__(scope, receive, send)

    async def _serve_http(self, scope: Scope, receive: Receive, send: Send) -> None:
        refused = header_refusal(scope, self.max_header_count, self.max_header_bytes)
        if refused is not None:
            await refused(scope, receive, send)
            return
        if self.gateway is not None and scope["method"] == "POST":
            found = self.gateway.match(scope)
            if found is not None:
                scope["app"] = self
                await self.gateway.serve(found, scope, receive, send)
                return
        await super().__call__(scope, receive, send)
