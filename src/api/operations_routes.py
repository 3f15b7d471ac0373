"""Operations: public liveness, readiness and the API's description; the figures (log head,
writer queue, sweeper, read models, metrics) for operators and the back office."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api.json_answers import json_answer
from api.problems import problem_response
from api.query_route import QueryRoute
from api.request_state import runtime_of
from service_layer.bootstrap import LedgerRuntime
from service_layer.readiness import liveness, readiness
from service_layer.runtime_metrics import runtime_registry

OPENAPI_STATE = "openapi"  # app.state's member holding the document's bytes (api/app.py)
METRICS_STATE = "metrics_registry"  # app.state's member: the runtime's collectors, made once


async def health(_: Request) -> Response:
    """Public liveness: the process answers. The figures are in /health/detail, behind a token."""
    return json_answer({"status": "ok"})


async def health_live(request: Request) -> Response:
    """Public liveness for a probe: 503 only for what a restart cures (the writer process of
    this replica gone for good); a writer standing by or a store down is not that."""
    reasons = liveness(runtime_of(request))
    if reasons:
        return _not(503, "not-live", "Not live", reasons)
    return json_answer({"status": "live"})


async def health_ready(request: Request) -> Response:
    """Public readiness for a probe or a load balancer: the writer takes commands, the event
    store answers, the read models this process serves answer (and, without a broker, have
    caught up); else a 503 naming each part that is not ready (service_layer/readiness.py)."""
    reasons = await run_in_threadpool(readiness, runtime_of(request))
    if reasons:
        return _not(503, "not-ready", "Not ready", reasons)
    return json_answer({"status": "ready"})


def _not(status: int, code: str, title: str, reasons: list[str]) -> Response:
    response = problem_response(
        status, code, title, "; ".join(reasons), extensions={"reasons": reasons}
    )
    response.headers["Retry-After"] = "1"
    response.headers["Cache-Control"] = "no-store"
    return response


async def health_detail(request: Request) -> Response:
    runtime = runtime_of(request)
    try:
        head = await run_in_threadpool(runtime.ledger.recorder.max_notification_id)
    except Exception as error:
        return problem_response(
            503,
            "store-unreachable",
            "Event store unreachable",
            f"the event store did not answer: {type(error).__name__}: {error}",
        )
    return json_answer(
        {
            "status": "draining" if runtime.draining else "ok",
            "event_store": runtime.settings.event_store_url.split("://")[0],
            "log_head": head or 0,
            "writer_queue": runtime.writer.queue_depth(),
            "open_reservations": runtime.sweeper.deadlines.open_count(),
            "sweeper_position": runtime.sweeper.deadlines.position,
            "read_models": await run_in_threadpool(_read_models, runtime),
        }
    )


def _read_models(runtime: LedgerRuntime) -> dict[str, object] | None:
    if runtime.read_side is None:
        return None
    try:
        return runtime.read_side.projecting()
    except Exception as error:  # the health answer itself must not fail
        return {"unavailable": f"{type(error).__name__}: {error}"}


async def metrics(request: Request) -> Response:
    """This process's registry (what its loops count: HTTP, writer histograms, projections,
    webhooks) and the runtime's collectors, read now (service_layer/runtime_metrics.py)."""
    registry: CollectorRegistry | None = getattr(request.app.state, METRICS_STATE, None)
    if registry is None:
        registry = runtime_registry(runtime_of(request))
        setattr(request.app.state, METRICS_STATE, registry)
    body = await run_in_threadpool(_exposition, registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def _exposition(runtime: CollectorRegistry) -> bytes:
    return generate_latest(REGISTRY) + generate_latest(runtime)


async def openapi(request: Request) -> Response:
    document: bytes = getattr(request.app.state, OPENAPI_STATE)
    return Response(document, media_type="application/json")


OPERATIONS_ROUTES = [
    QueryRoute("/health", health, 'Liveness (public): {"status": "ok"}', "operations", problems=()),
    QueryRoute(
        "/health/live",
        health_live,
        'Liveness probe (public): {"status": "live"}, or 503 when only a restart would help',
        "operations",
        description="A 503 `not-live` names the reasons: this replica's writer process is "
        "gone for good. A writer standing by or a store that does not answer keeps it live.",
        problems=(503,),
    ),
    QueryRoute(
        "/health/ready",
        health_ready,
        'Readiness probe (public): {"status": "ready"}, or 503 naming what is not ready',
        "operations",
        description="Ready when this replica's writer takes commands (on PostgreSQL: its "
        "process runs and holds the store's writer lock), the event store answers, and the "
        "read models it serves answer (without a broker: within GLOW_READY_MAX_BEHIND_EVENTS "
        "of the log's head). A 503 `not-ready` lists `reasons`.",
        problems=(503,),
    ),
    QueryRoute(
        "/health/detail",
        health_detail,
        "The event store's reachability, log head, writer queue, sweeper (operator, admin)",
        "operations",
        problems=(401, 403, 503),
    ),
    QueryRoute(
        "/metrics",
        metrics,
        "Prometheus metrics (operator, admin)",
        "operations",
        problems=(401, 403),
        media_type=CONTENT_TYPE_LATEST,
    ),
    QueryRoute(
        "/openapi.json", openapi, "This OpenAPI document (public)", "operations", problems=()
    ),
]
