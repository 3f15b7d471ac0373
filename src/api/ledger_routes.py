"""Read endpoints: stock of a SKU, a reservation, a product, the locations; health (public
liveness, and the detail for operators) and metrics (for operators)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api.access import principal_of, staff_view
from api.caller_bounds import require_may_see_reservation
from api.problems import ApiProblem, problem_response
from service_layer import queries
from service_layer.bootstrap import LedgerRuntime


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _runtime(request: Request) -> LedgerRuntime:
    runtime: LedgerRuntime = request.app.state.runtime
    return runtime


def _today() -> Any:
    return datetime.now(tz=UTC).date()


async def stock_of_sku(request: Request) -> Response:
    sku = request.path_params["sku"]
    ledger = _runtime(request).ledger
    found = await run_in_threadpool(queries.stock_across, ledger, sku, _today())
    return _json(staff_view(principal_of(request), found))


async def stock_at_location(request: Request) -> Response:
    sku, location = request.path_params["sku"], request.path_params["location"]
    ledger = _runtime(request).ledger
    return _json(await run_in_threadpool(queries.stock_at, ledger, sku, location, _today()))


async def reservation(request: Request) -> Response:
    raw = request.path_params["reservation_id"]
    try:
        reservation_id = UUID(raw)
    except ValueError:
        raise ApiProblem(
            422,
            "invalid-path-parameter",
            "Invalid path parameter",
            f"reservation_id {raw!r} is not a UUID",
        ) from None
    ledger = _runtime(request).ledger
    found = await run_in_threadpool(queries.reservation, ledger, reservation_id)
    require_may_see_reservation(principal_of(request), found)
    return _json(found)


async def product(request: Request) -> Response:
    ledger = _runtime(request).ledger
    code = request.path_params["product_code"]
    return _json(await run_in_threadpool(queries.product, ledger, code))


async def locations(request: Request) -> Response:
    ledger = _runtime(request).ledger
    return _json({"locations": await run_in_threadpool(queries.locations, ledger)})


async def health(_: Request) -> Response:
    """Public liveness: the process answers. The figures are in /health/detail, behind a token."""
    return _json({"status": "ok"})


async def health_detail(request: Request) -> Response:
    runtime = _runtime(request)
    try:
        head = await run_in_threadpool(runtime.ledger.recorder.max_notification_id)
    except Exception as error:
        return problem_response(
            503,
            "store-unreachable",
            "Event store unreachable",
            f"the event store did not answer: {type(error).__name__}: {error}",
        )
    return _json(
        {
            "status": "ok",
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
    runtime = _runtime(request)
    lines = [
        f"glow_commands_committed_total {runtime.writer.commands_committed}",
        f"glow_commit_groups_total {runtime.writer.groups_committed}",
        f"glow_writer_queue_depth {runtime.writer.queue_depth()}",
        f"glow_reservations_expired_total {runtime.sweeper.expired_total}",
        f"glow_open_reservations {runtime.sweeper.deadlines.open_count()}",
    ]
    if runtime.read_side is not None:
        counts = await run_in_threadpool(runtime.read_side.dead_letters)
        lines += [f'glow_dead_letters{{sink="{sink}"}} {n}' for sink, n in sorted(counts.items())]
    body = generate_latest() + ("\n".join(lines) + "\n").encode()
    return Response(body, media_type=CONTENT_TYPE_LATEST)
