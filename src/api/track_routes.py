"""Behaviour tracking over HTTP: POST /track (one event), POST /track/batch (many), and the
tracking plan's violations (GET /tracking/violations). Events are answered 202 with what
became of them: accepted (a row), aggregated_only (counted only: no consent), violations
(broke the tracking plan) and blocked (not kept: GLOW_TRACKING_VIOLATIONS=block)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api import track_models as m
from api.access import principal_of
from api.action_post import ActionPost
from api.auth import Principal
from api.callers import caller
from api.json_answers import json_answer
from api.problems import ApiProblem
from api.query_parameters import day
from api.query_route import READ_MODEL_PROBLEMS, QueryRoute
from api.request_body import read_json, validate
from api.request_state import runtime_of
from service_layer.behaviour_desk import BehaviourIngestion, BehaviourUnavailableError, TrackCall

FUTURE_SKEW = timedelta(minutes=5)
SINCE = day("since", description="only violations from this day on; default: all kept")


def _ingestion(request: Request) -> BehaviourIngestion:
    runtime = runtime_of(request)
    if runtime.behaviour is None:
        raise ApiProblem(
            503,
            "behaviour-off",
            "Behaviour tracking off",
            "behaviour events go to ClickHouse, and this process has none: set "
            "GLOW_ANALYTICS_URL (chdb:///path or http(s)://host:port), or GLOW_BROKER_URL "
            "for the worker to write them",
        )
    return runtime.behaviour


async def track(request: Request) -> Response:
    ingestion = _ingestion(request)
    body = validate(m.TrackIn, await _body(request))
    return await _ingest(request, ingestion, [body])


async def track_batch(request: Request) -> Response:
    ingestion = _ingestion(request)
    body = validate(m.TrackBatchIn, await _body(request))
    most = runtime_of(request).settings.track_max_batch
    if len(body.batch) > most:
        raise ApiProblem(
            422,
            "batch-too-large",
            "Batch too large",
            f"the batch has {len(body.batch)} events; at most {most} are accepted "
            "(GLOW_TRACK_MAX_BATCH): send them in several batches",
        )
    return await _ingest(request, ingestion, body.batch)


async def _body(request: Request) -> object:
    data, _ = await read_json(request, runtime_of(request).settings.track_max_body_bytes)
    return data


async def _ingest(
    request: Request, ingestion: BehaviourIngestion, events: Sequence[m.TrackIn]
) -> Response:
    principal = principal_of(request)
    channel = _channel(request, principal)
    calls = [_call(principal, channel, index, event) for index, event in enumerate(events)]
    try:
        outcomes = await ingestion.ingest(calls, principal.subject)
    except BehaviourUnavailableError as error:
        problem = ApiProblem(
            503, "behaviour-unavailable", "Behaviour store unavailable", str(error)
        )
        raise problem from None
    response = json_answer({"received": len(calls), **outcomes.as_dict()})
    response.status_code = 202
    return response


def _channel(request: Request, principal: Principal) -> str:
    """The token's channel; an admin's (which names none) from X-Channel."""
    if principal.channel is not None and "x-channel" not in request.headers:
        return principal.channel
    return caller(request)[0]


def _call(principal: Principal, channel: str, index: int, event: m.TrackIn) -> TrackCall:
    customer_id = event.customer_id
    if principal.role == "customer":
        if customer_id is not None and customer_id != principal.customer_id:
            raise ApiProblem(
                403,
                "forbidden",
                "Forbidden",
                f"event {index}: a customer token may only track its own customer "
                f"({principal.customer_id}), not {customer_id}",
            )
        customer_id = principal.customer_id
    if customer_id is None and event.anonymous_id is None:
        raise ApiProblem(
            422,
            "invalid-request",
            "Invalid request",
            f"event {index}: name the customer_id or an anonymous_id (or both, at login)",
        )
    if event.timestamp is not None:
        _check_timestamp(index, event.timestamp)
    consent = event.context.consent
    return TrackCall(
        event=event.event,
        properties=event.properties,
        channel=channel,
        anonymous_id=event.anonymous_id or "",
        customer_id=customer_id,
        cookie_consent=bool(consent is not None and consent.analytics),
        timestamp=event.timestamp,
        message_id=event.message_id,
    )


def _check_timestamp(index: int, moment: datetime) -> None:
    if moment > datetime.now(UTC) + FUTURE_SKEW:
        raise ApiProblem(
            422,
            "invalid-request",
            "Invalid request",
            f"event {index}: timestamp {moment.isoformat()} is in the future; expected the "
            f"time the event happened (at most {FUTURE_SKEW} ahead of the ledger's clock)",
        )


async def violations(request: Request) -> Response:
    runtime = runtime_of(request)
    side = runtime.read_side
    if side is None or side.sinks.facts is None:
        raise ApiProblem(
            503,
            "read-models-off",
            "Analytics off",
            "the tracking plan's violations are kept in ClickHouse, which this process does "
            "not open: read them with `glow tracking violations` where GLOW_ANALYTICS_URL is set",
        )
    client = side.sinks.facts.client
    since = SINCE.read(request)
    from projections.behaviour_queries import stitch_refusals, tracking_violations

    def read() -> dict[str, Any]:
        return {
            "violations": tracking_violations(client, since),
            "stitches_refused": stitch_refusals(client, since),
        }

    return json_answer(await run_in_threadpool(read))


TRACK_POSTS = [
    ActionPost(
        "/track",
        m.TrackIn,
        track,
        "Track one behaviour event (kept per the customer's analytics consent)",
        "behaviour",
        ok=202,
    ),
    ActionPost(
        "/track/batch",
        m.TrackBatchIn,
        track_batch,
        "Track a batch of behaviour events (up to GLOW_TRACK_MAX_BATCH)",
        "behaviour",
        ok=202,
    ),
]

TRACK_QUERIES = [
    QueryRoute(
        "/tracking/violations",
        violations,
        "Tracking plan violations per event, kind and property; refused identity stitches",
        "behaviour",
        parameters=(SINCE,),
        problems=READ_MODEL_PROBLEMS,
    ),
]
