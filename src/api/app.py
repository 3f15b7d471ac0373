"""The Starlette application: routes, error mapping, and the runtime's lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Scope

from api.access import AccessControl
from api.access_rules import ACCESS_RULES, EXPENSIVE_READS
from api.auth import verifier
from api.command_gateway import CommandGateway, GlowApp, Handler
from api.command_routes import command_endpoint
from api.concurrency_limit import ConcurrencyLimit
from api.customer_routes import customer_command_endpoint
from api.metrics import REFUSALS
from api.openapi import openapi_document
from api.operations_routes import OPENAPI_STATE
from api.problems import (
    ApiProblem,
    api_problem,
    audit_problem,
    domain_problem,
    problem_response,
)
from api.rate_limits import RateLimitedError, RateLimits, RouteKey, rate_limiter
from api.route_tables import (
    ACTION_POSTS,
    CUSTOMER_WRITES,
    GATEWAY_POSTS,
    LEDGER_COMMAND_ROUTES,
    QUERY_PARAMETERS,
    QUERY_ROUTES,
    READING_POSTS,
    STREAMING_POSTS,
)
from audit.errors import AuditError
from domain.errors import DomainError
from service_layer.bootstrap import LedgerRuntime
from service_layer.writer import WriterOverloadedError, WriterStoppedError

log = logging.getLogger(__name__)


def _command_routes() -> list[Route]:
    return [
        Route(route.path, command_endpoint(route), methods=[route.method])
        for route in LEDGER_COMMAND_ROUTES
    ]


def _gateway_routes(command_routes: list[Route]) -> list[Route]:
    """What the command gateway serves: the commands sent by POST (a DELETE goes through
    Starlette) and the high-volume POSTs (tracking)."""
    posted = [route for route in command_routes if "POST" in (route.methods or ())]
    return posted + [Route(post.path, post.endpoint, methods=["POST"]) for post in GATEWAY_POSTS]


def app_routes(command_routes: list[Route] | None = None) -> list[Route]:
    """Every route of the app, in the order the router tries them (api/route_tables.py)."""
    routes = list(_command_routes() if command_routes is None else command_routes)
    routes += [
        Route(route.path, customer_command_endpoint(route), methods=["POST"])
        for route in CUSTOMER_WRITES
    ]
    routes += [Route(post.path, post.endpoint, methods=["POST"]) for post in READING_POSTS]
    routes += [Route(post.path, post.endpoint, methods=["POST"]) for post in ACTION_POSTS]
    routes += [Route(post.path, post.endpoint, methods=["POST"]) for post in STREAMING_POSTS]
    return routes + [query.route() for query in QUERY_ROUTES]


async def _on_domain_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, DomainError)
    REFUSALS.labels(error.code).inc()
    return domain_problem(error, request.url.path)


async def _on_api_problem(request: Request, error: Exception) -> Response:
    assert isinstance(error, ApiProblem)
    REFUSALS.labels(error.code).inc()
    return api_problem(error, request.url.path)


async def _on_audit_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, AuditError)
    return audit_problem(error, request.url.path)


async def _on_busy(request: Request, error: Exception) -> Response:
    response = problem_response(
        503,
        "ledger-busy",
        "Ledger busy",
        f"{error or 'the command took too long to commit'}; retry with the same Idempotency-Key, "
        "which never applies a command twice",
        request.url.path,
    )
    # A writer standing by for the store's lock says when it tries again; else a second.
    response.headers["Retry-After"] = str(getattr(error, "retry_after_seconds", 1))
    return response


async def _on_http_error(request: Request, error: Exception) -> Response:
    status = getattr(error, "status_code", 500)
    detail = getattr(error, "detail", "") or "request refused"
    code = {404: "no-such-route", 405: "method-not-allowed"}.get(status, "http-error")
    response = problem_response(
        status,
        code,
        str(detail),
        f"{request.method} {request.url.path}: {detail}",
        request.url.path,
    )
    response.headers.update(getattr(error, "headers", None) or {})  # a 405's Allow
    return response


async def _on_rate_limited(request: Request, error: Exception) -> Response:
    assert isinstance(error, RateLimitedError)
    return error.response(request.url.path)


def _skus_named(scope: Scope) -> int:
    """A page of availability costs the SKUs it names (`sku=A&sku=B` or `skus=A,B`)."""
    query = parse_qsl(scope.get("query_string", b"").decode("latin-1"))
    return max(1, sum(len(list(filter(None, v.split(",")))) for k, v in query if k in SKU_NAMES))


SKU_NAMES = ("sku", "skus")
# Batches charged by their size (a till journal pays per line as it is read: api/till_journal.py).
BATCH_COSTS = {
    ("GET", "/availability"): _skus_named,
    ("GET", "/channels/{channel}/availability"): _skus_named,
}
METERED: frozenset[RouteKey] = frozenset(("POST", post.path) for post in STREAMING_POSTS)


async def _on_unexpected(request: Request, error: Exception) -> Response:
    log.exception("unexpected error on %s", request.url.path, exc_info=error)
    return problem_response(
        500,
        "internal-error",
        "Internal error",
        "the ledger failed unexpectedly; nothing was half-applied; retry with the same key",
        request.url.path,
    )


def create_app(runtime: LedgerRuntime, *, manage_runtime: bool = True) -> GlowApp:
    limiter = rate_limiter(runtime.settings)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        if manage_runtime:
            runtime.start()
        try:
            yield
        finally:
            if limiter is not None:
                await limiter.close()
            if runtime.behaviour is not None:  # its producer belongs to this event loop
                await runtime.behaviour.aclose()
            if manage_runtime:
                runtime.close()

    from starlette.exceptions import HTTPException

    command_routes = _command_routes()
    routes = app_routes(command_routes)
    tokens = verifier(runtime.settings)
    access = Middleware(
        AccessControl,
        verifier=tokens,
        rules=ACCESS_RULES,
        routes=routes,
        queries=QUERY_PARAMETERS,
    )
    limited = Middleware(RateLimits, limiter=limiter, costs=BATCH_COSTS, metered=METERED)
    bounded = Middleware(
        ConcurrencyLimit,
        routes=EXPENSIVE_READS,
        per_principal=runtime.settings.expensive_reads_per_principal,
        total=runtime.settings.expensive_reads_total,
    )
    handlers: dict[Any, Handler] = {
        DomainError: _on_domain_error,
        ApiProblem: _on_api_problem,
        AuditError: _on_audit_error,
        WriterOverloadedError: _on_busy,
        WriterStoppedError: _on_busy,
        asyncio.TimeoutError: _on_busy,
        RateLimitedError: _on_rate_limited,
        HTTPException: _on_http_error,
        Exception: _on_unexpected,
    }
    app = GlowApp(
        routes=routes,
        middleware=[access, limited, bounded],
        lifespan=lifespan,
        exception_handlers=handlers,
    )
    app.gateway = CommandGateway(
        _gateway_routes(command_routes), tokens, ACCESS_RULES, handlers, limiter
    )
    app.max_header_count = runtime.settings.max_header_count
    app.max_header_bytes = runtime.settings.max_header_bytes
    app.state.runtime = runtime
    setattr(app.state, OPENAPI_STATE, orjson.dumps(openapi_document()))
    return app
