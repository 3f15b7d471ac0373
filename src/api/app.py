"""The Starlette application: routes, error mapping, and the runtime's lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api import audit_routes as a
from api import query_routes as q
from api.access import AccessControl
from api.access_rules import ACCESS_RULES, EXPENSIVE_READS
from api.auth import verifier
from api.command_gateway import CommandGateway, GlowApp, Handler
from api.command_routes import COMMAND_ROUTES, command_endpoint
from api.concurrency_limit import ConcurrencyLimit
from api.customer_routes import (
    CUSTOMER_COMMAND_ROUTES,
    CUSTOMER_QUERIES,
    customer_command_endpoint,
)
from api.metrics import REFUSALS
from api.openapi import QUERY_PARAMETERS, openapi_document
from api.problems import (
    ApiProblem,
    api_problem,
    audit_problem,
    domain_problem,
    problem_response,
)
from api.read_routes import READ_ROUTES
from api.recommendation_routes import recommendations
from audit.errors import AuditError
from domain.errors import DomainError
from service_layer.bootstrap import LedgerRuntime
from service_layer.writer import WriterOverloadedError, WriterStoppedError

log = logging.getLogger(__name__)


def _command_routes() -> list[Route]:
    return [
        Route(route.path, command_endpoint(route), methods=["POST"]) for route in COMMAND_ROUTES
    ]


def _routes(command_routes: list[Route] | None = None) -> list[Route]:
    routes = list(_command_routes() if command_routes is None else command_routes)
    routes += [
        Route(route.path, customer_command_endpoint(route), methods=["POST"])
        for route in CUSTOMER_COMMAND_ROUTES
    ]
    routes += [Route(path, endpoint) for path, endpoint, _ in CUSTOMER_QUERIES]
    document = orjson.dumps(openapi_document())

    async def openapi(_: Request) -> Response:
        return Response(document, media_type="application/json")

    return [
        *routes,
        Route("/skus/{sku}/stock", q.stock_of_sku),
        Route("/skus/{sku}/stock/{location}", q.stock_at_location),
        Route("/reservations/{reservation_id}", q.reservation),
        Route("/products/{product_code}", q.product),
        Route("/locations", q.locations),
        Route("/customers/{customer_id}/recommendations", recommendations),
        Route("/audit/chain", a.chain),
        Route("/audit/chain/verification", a.chain_verification),
        Route("/audit/export", a.export),
        Route("/audit/batches/{sku}/{batch}/trace", a.batch_trace),
        Route("/audit/{kind}/{key}/history", a.aggregate_history),
        Route("/audit/{kind}/{key}/as-of", a.aggregate_as_of),
        *READ_ROUTES,
        Route("/health", q.health),
        Route("/health/detail", q.health_detail),
        Route("/metrics", q.metrics),
        Route("/openapi.json", openapi),
    ]


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
    return problem_response(
        503,
        "ledger-busy",
        "Ledger busy",
        f"{error or 'the command took too long to commit'}; retry with the same Idempotency-Key, "
        "which never applies a command twice",
        request.url.path,
    )


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
    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        if manage_runtime:
            runtime.start()
        try:
            yield
        finally:
            if manage_runtime:
                runtime.close()

    from starlette.exceptions import HTTPException

    command_routes = _command_routes()
    routes = _routes(command_routes)
    tokens = verifier(runtime.settings)
    access = Middleware(
        AccessControl,
        verifier=tokens,
        rules=ACCESS_RULES,
        routes=routes,
        queries=QUERY_PARAMETERS,
    )
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
        HTTPException: _on_http_error,
        Exception: _on_unexpected,
    }
    app = GlowApp(
        routes=routes, middleware=[access, bounded], lifespan=lifespan, exception_handlers=handlers
    )
    app.gateway = CommandGateway(command_routes, tokens, ACCESS_RULES, handlers)
    app.max_header_count = runtime.settings.max_header_count
    app.max_header_bytes = runtime.settings.max_header_bytes
    app.state.runtime = runtime
    return app
