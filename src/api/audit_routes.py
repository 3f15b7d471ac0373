"""Auditors' read endpoints: history, as-of, batch trace, the chain's status and verification,
and the export stream (auditors and admins only: api/access_rules.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from api.access_logging import log_access
from api.json_answers import json_answer
from api.query_parameters import choice, instant, position, text
from api.query_route import PROBLEMS, QueryRoute
from api.request_state import runtime_of
from audit.aggregate_keys import KINDS, aggregate_id
from audit.batch_trace import trace_batch
from audit.chain_status import chain_status
from audit.chain_verification import verify_chain
from audit.checkpoints import signing_key
from audit.errors import ChainUnavailableError
from audit.export import Selection, export_lines
from audit.history import history
from audit.rendering import describe_state
from audit.time_travel import BASES, RECORDED, state_as_of, stock_as_of
from configuration.settings import postgres_conninfo

AT = instant("at", description="default: now")
BASIS = choice(
    "basis",
    BASES,
    RECORDED,
    description="recorded: what the ledger had recorded by then; occurred: the events that "
    "happened by then by their trace, as known now",
)
AFTER = position("after", description="resume after this log position (or version, with kind)")
KIND = choice("kind", tuple(KINDS), description="one aggregate's history instead of the log")
KEY = text("key", description="the aggregate's key: SKU@LOCATION, a UUID, a code")
SINCE = instant("since", description="recorded at or after")
UNTIL = instant("until", description="recorded before")


async def aggregate_history(request: Request) -> Response:
    ledger = runtime_of(request).ledger
    found = aggregate_id(request.path_params["kind"], request.path_params["key"])
    events = await run_in_threadpool(history, ledger, found)
    return json_answer({"aggregate_id": str(found), "events": events})


async def aggregate_as_of(request: Request) -> Response:
    kind, key = request.path_params["kind"], request.path_params["key"]
    instant, basis = AT.read(request) or datetime.now(tz=UTC), BASIS.value(request)
    ledger = runtime_of(request).ledger
    if kind == "stock" and "@" not in key:
        return json_answer(await run_in_threadpool(stock_as_of, ledger, key, instant, basis))
    found = await run_in_threadpool(state_as_of, ledger, aggregate_id(kind, key), instant, basis)
    return json_answer(
        {"as_of": instant.isoformat(), "basis": basis, **describe_state(found, instant.date())}
    )


async def batch_trace(request: Request) -> Response:
    sku, batch = request.path_params["sku"], request.path_params["batch"]
    runtime = runtime_of(request)
    found = await run_in_threadpool(
        trace_batch, runtime.ledger, sku, batch, runtime.customers.recall_notice
    )
    # Telling whether a customer can be reached read their sealed contact details: log it.
    reason = f"recall of batch {batch} of {sku}"
    for notice in found["customers_to_notify"]:
        if notice.get("status") in ("active", "forgotten"):
            await log_access(request, UUID(notice["customer_id"]), "recall-notice", reason)
    return json_answer(found)


async def chain(request: Request) -> Response:
    return json_answer(await run_in_threadpool(chain_status, _conninfo(request)))


async def chain_verification(request: Request) -> Response:
    report = await run_in_threadpool(verify_chain, _conninfo(request), signing_key())
    return json_answer(report.as_dict())


async def export(request: Request) -> Response:
    kind = KIND.read(request)
    selection = Selection(
        after=AFTER.value(request),
        aggregate_id=aggregate_id(kind, KEY.read(request) or "") if kind else None,
        since=SINCE.read(request),
        until=UNTIL.read(request),
    )
    lines: Iterator[bytes] = export_lines(runtime_of(request).ledger, selection)
    return StreamingResponse(lines, media_type="application/x-ndjson")


def _conninfo(request: Request) -> str:
    settings = runtime_of(request).settings
    if not settings.is_postgres():
        raise ChainUnavailableError(
            "the hash chain is kept only with the PostgreSQL store, not the embedded SQLite one"
        )
    return postgres_conninfo(settings.event_store_url)


CHAIN_PROBLEMS = (*PROBLEMS, 501)  # the embedded SQLite store keeps no chain
AUDIT_ROUTES = [
    QueryRoute(
        "/audit/chain",
        chain,
        "The hash chain's head, the log's head, the latest checkpoint",
        "audit",
        problems=CHAIN_PROBLEMS,
    ),
    QueryRoute(
        "/audit/chain/verification",
        chain_verification,
        "Recompute the chain; the first discrepancy",
        "audit",
        problems=CHAIN_PROBLEMS,
    ),
    QueryRoute(
        "/audit/export",
        export,
        "The log as JSON Lines (application/x-ndjson)",
        "audit",
        (AFTER, KIND, KEY, SINCE, UNTIL),
        media_type="application/x-ndjson",
    ),
    QueryRoute(
        "/audit/batches/{sku}/{batch}/trace",
        batch_trace,
        "Everything a batch went through (recall)",
        "audit",
    ),
    QueryRoute(
        "/audit/{kind}/{key}/history",
        aggregate_history,
        "An aggregate's events with who, why and when",
        "audit",
    ),
    QueryRoute(
        "/audit/{kind}/{key}/as-of",
        aggregate_as_of,
        "An aggregate's state as of an instant, by replay",
        "audit",
        (AT, BASIS),
    ),
]
