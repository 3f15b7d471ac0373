"""Auditors' read endpoints: history, as-of, batch trace, the chain's status and verification,
and the export stream. Restricting them to the auditor role comes with JWT auth (a later issue);
until then they are as open as every other query."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from api.access import principal_of
from api.query_routes import _json, _runtime
from audit.aggregate_keys import aggregate_id
from audit.batch_trace import trace_batch
from audit.chain_status import chain_status
from audit.chain_verification import verify_chain
from audit.checkpoints import signing_key
from audit.errors import ChainUnavailableError, InvalidAuditQueryError
from audit.export import Selection, export_lines
from audit.history import history
from audit.rendering import describe_state
from audit.time_travel import RECORDED, parse_instant, state_as_of, stock_as_of
from privacy.access_log import AccessEntry
from service_layer.settings import postgres_conninfo


async def aggregate_history(request: Request) -> Response:
    ledger = _runtime(request).ledger
    found = aggregate_id(request.path_params["kind"], request.path_params["key"])
    events = await run_in_threadpool(history, ledger, found)
    return _json({"aggregate_id": str(found), "events": events})


async def aggregate_as_of(request: Request) -> Response:
    kind, key = request.path_params["kind"], request.path_params["key"]
    instant = parse_instant(request.query_params.get("at") or _now())
    basis = request.query_params.get("basis", RECORDED)
    ledger = _runtime(request).ledger
    if kind == "stock" and "@" not in key:
        return _json(await run_in_threadpool(stock_as_of, ledger, key, instant, basis))
    found = await run_in_threadpool(state_as_of, ledger, aggregate_id(kind, key), instant, basis)
    return _json(
        {"as_of": instant.isoformat(), "basis": basis, **describe_state(found, instant.date())}
    )


async def batch_trace(request: Request) -> Response:
    sku, batch = request.path_params["sku"], request.path_params["batch"]
    runtime = _runtime(request)
    found = await run_in_threadpool(
        trace_batch, runtime.ledger, sku, batch, runtime.customers.recall_notice
    )
    # Telling whether a customer can be reached read their sealed contact details: log it.
    principal = principal_of(request)
    reason = f"recall of batch {batch} of {sku}"
    for notice in found["customers_to_notify"]:
        if notice.get("status") in ("active", "forgotten"):
            entry = AccessEntry(
                principal.subject,
                principal.role,
                principal.channel,
                UUID(notice["customer_id"]),
                "recall-notice",
                reason,
            )
            await run_in_threadpool(runtime.access_log.record, entry)
    return _json(found)


async def chain(request: Request) -> Response:
    return _json(await run_in_threadpool(chain_status, _conninfo(request)))


async def chain_verification(request: Request) -> Response:
    report = await run_in_threadpool(verify_chain, _conninfo(request), signing_key())
    return _json(report.as_dict())


async def export(request: Request) -> Response:
    params = request.query_params
    kind, key = params.get("kind"), params.get("key")
    selection = Selection(
        after=_whole_number(params.get("after", "0")),
        aggregate_id=aggregate_id(kind, key or "") if kind else None,
        since=parse_instant(params["since"]) if "since" in params else None,
        until=parse_instant(params["until"]) if "until" in params else None,
    )
    lines: Iterator[bytes] = export_lines(_runtime(request).ledger, selection)
    return StreamingResponse(lines, media_type="application/x-ndjson")


def _conninfo(request: Request) -> str:
    settings = _runtime(request).settings
    if not settings.is_postgres():
        raise ChainUnavailableError(
            "the hash chain is kept only with the PostgreSQL store, not the embedded SQLite one"
        )
    return postgres_conninfo(settings.event_store_url)


def _whole_number(raw: str) -> int:
    if not raw.isdigit():
        raise InvalidAuditQueryError(f"after must be a whole number, got {raw!r}")
    return int(raw)


def _now() -> str:
    return datetime.now(tz=UTC).isoformat()
