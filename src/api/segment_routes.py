"""Segments over HTTP: RFM, cohorts and churn risk as of a moment for analysts (aggregates
and pseudonymous ids, no personal data), audiences defined by the back office, their counts
for analysts, and their members (exported only where the customer's consent to the
audience's purpose holds now) for the back office. Served where this process serves the
ClickHouse facts; audiences need PostgreSQL. Every answer says it is projected, and how far
the facts are behind the ledger."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api import segment_models as m
from api.access import principal_of
from api.action_post import ActionPost
from api.json_answers import json_answer
from api.problems import ApiProblem
from api.query_parameters import (
    DAY,
    FIRST_DAY,
    InvalidValueError,
    Parameter,
    choice,
    day,
    instant,
    whole,
)
from api.query_route import READ_MODEL_PROBLEMS, QueryRoute
from api.request_body import read_json, validate
from api.request_state import runtime_of
from projections.audience_definitions import DefinitionError
from projections.segments import DEFAULT_CHURN_FACTOR, DEFAULT_MIN_ORDERS, AsOf, rfm_summary
from service_layer.segment_desk import (
    AudiencesUnavailableError,
    SegmentDesk,
    UnknownAudienceError,
)
from service_layer.served_models import served_analytics

_DAY = day("as_of")


def _as_of(raw: str) -> datetime:
    """A day (its end, in UTC; today: now) or an instant with its timezone."""
    if DAY.fullmatch(raw):
        day = _DAY.parse(raw)  # a business day: FIRST_DAY to LAST_DAY
        end = datetime.combine(day, time.max, tzinfo=UTC)
        return min(end, datetime.now(tz=UTC)) if day == datetime.now(tz=UTC).date() else end
    parsed: datetime = instant("as_of").parse(raw)
    return parsed


AS_OF = Parameter(
    "as_of",
    _as_of,
    f"a day YYYY-MM-DD (as of its end, UTC) or an ISO 8601 instant with a timezone, from "
    f"{FIRST_DAY} on and not in the future",
    {"type": "string"},
    description="the moment the segment is computed as of; default now",
)
CHURN_FACTOR = Parameter(
    "k",
    lambda raw: _factor(raw),
    "a number from 1 to 20",
    {"type": "number", "minimum": 1, "maximum": 20},
    DEFAULT_CHURN_FACTOR,
    description="at risk when the days since the last purchase exceed k times the median gap",
)
MIN_ORDERS = whole(
    "min_orders", 2, 1000, DEFAULT_MIN_ORDERS, description="purchases needed to judge churn"
)
RFM_DETAIL = choice(
    "detail",
    ("segments", "customers"),
    "segments",
    description="segments: the named segments and each RFM cell's customers and revenue; "
    "customers: every buying customer's scores (pseudonymous ids)",
)
VERSION = whole(
    "version", 1, 1_000_000, description="a version of the definition; default the latest"
)


def _factor(raw: str) -> float:
    if not raw.isascii() or not raw.replace(".", "", 1).isdigit():
        raise InvalidValueError("not a plain decimal number")
    value = float(raw)
    if not 1 <= value <= 20:
        raise InvalidValueError("out of range 1 to 20")
    return value


def _moment(request: Request) -> AsOf:
    moment = AS_OF.read(request) or datetime.now(tz=UTC)
    if moment > datetime.now(tz=UTC) + timedelta(seconds=1):
        raise ApiProblem(
            422,
            "invalid-query",
            "Invalid query parameter",
            f"as_of={moment.isoformat()} is in the future; expected a moment up to now "
            "(a segment counts only what the ledger has recorded)",
            parameter="as_of",
        )
    return AsOf(moment, CHURN_FACTOR.value(request), MIN_ORDERS.value(request))


def _desk(request: Request) -> SegmentDesk:
    runtime = runtime_of(request)
    desk: SegmentDesk | None = runtime.segments
    if desk is None:
        why = served_analytics(runtime.settings).why_off
        raise ApiProblem(503, "read-models-off", "Segments off", why)
    return desk


def _facts_log(request: Request) -> dict[str, int]:
    side = runtime_of(request).read_side
    assert side is not None and side.sinks.facts is not None
    from streams.embedded_driver import CONSUMER

    position, head = side.sinks.facts.position(CONSUMER), side.head()
    return {"position": position, "head": head, "behind": max(head - position, 0)}


def _projected(request: Request, as_of: AsOf, body: dict[str, Any]) -> Response:
    return json_answer(
        {
            **body,
            "as_of": as_of.moment.isoformat(),
            "source": "projected",
            "log": _facts_log(request),
        }
    )


async def rfm(request: Request) -> Response:
    as_of, desk = _moment(request), _desk(request)
    if RFM_DETAIL.value(request) == "customers":
        rows = await run_in_threadpool(desk.rfm, as_of)
        return _projected(request, as_of, {"customers": rows})
    cells = await run_in_threadpool(desk.rfm_cells, as_of)
    return _projected(request, as_of, {"segments": rfm_summary(cells), "cells": cells})


async def cohorts(request: Request) -> Response:
    as_of, desk = _moment(request), _desk(request)
    found = await run_in_threadpool(desk.cohorts, as_of)
    return _projected(request, as_of, found)


async def churn(request: Request) -> Response:
    as_of, desk = _moment(request), _desk(request)
    rows = await run_in_threadpool(desk.churn, as_of)
    parameters = {"k": as_of.churn_factor, "min_orders": as_of.min_orders}
    return _projected(request, as_of, {"rule": parameters, "customers": rows})


def _refused(error: Exception) -> ApiProblem:
    if isinstance(error, DefinitionError):
        return ApiProblem(422, "invalid-audience", "Invalid audience definition", str(error))
    if isinstance(error, UnknownAudienceError):
        return ApiProblem(404, "unknown-audience", "Unknown audience", str(error.args[0]))
    if isinstance(error, AudiencesUnavailableError):
        return ApiProblem(503, "audiences-unavailable", "Audiences unavailable", str(error))
    raise error


async def define(request: Request) -> Response:
    data, _ = await read_json(request, runtime_of(request).settings.max_body_bytes)
    body = validate(m.AudienceIn, data)
    desk, subject = _desk(request), principal_of(request).subject
    conditions = [condition.model_dump() for condition in body.conditions]
    try:
        made = await run_in_threadpool(desk.define, body.name, body.purpose, conditions, subject)
    except (DefinitionError, AudiencesUnavailableError) as error:
        raise _refused(error) from None
    response = json_answer(made.as_dict())
    response.status_code = 201
    return response


async def audiences(request: Request) -> Response:
    desk = _desk(request)
    try:
        found = await run_in_threadpool(desk.audiences)
    except AudiencesUnavailableError as error:
        raise _refused(error) from None
    return json_answer({"audiences": [audience.as_dict() for audience in found]})


async def audience_count(request: Request) -> Response:
    as_of, desk, name = _moment(request), _desk(request), request.path_params["name"]
    subject, version = principal_of(request).subject, VERSION.read(request)
    try:
        found = await run_in_threadpool(desk.compute, name, as_of, subject, version)
    except (UnknownAudienceError, AudiencesUnavailableError) as error:
        raise _refused(error) from None
    body = {"audience": found.audience.as_dict(), "computation": found.computation.as_dict()}
    return _projected(request, as_of, body)


async def audience_members(request: Request) -> Response:
    as_of, desk, name = _moment(request), _desk(request), request.path_params["name"]
    subject, version = principal_of(request).subject, VERSION.read(request)

    def export() -> tuple[Any, list[str]]:
        found = desk.compute(name, as_of, subject, version)
        return found, desk.consenting(found.members, found.audience.purpose)

    try:
        found, consenting = await run_in_threadpool(export)
    except (UnknownAudienceError, AudiencesUnavailableError) as error:
        raise _refused(error) from None
    body = {
        "audience": found.audience.as_dict(),
        "computation": found.computation.as_dict(),
        "purpose": found.audience.purpose,
        "members": consenting,
        "left_out_without_consent": len(found.members) - len(consenting),
    }
    return _projected(request, as_of, body)


SEGMENT_PARAMETERS = (AS_OF, CHURN_FACTOR, MIN_ORDERS)
DESCRIPTION = (
    "Computed in ClickHouse over the customers whose `analytics` consent held at `as_of` and "
    "their purchases recorded by then; `log` says how far the facts are behind the ledger."
)


def _segment(
    path: str, endpoint: Any, summary: str, extra: tuple[Parameter[Any], ...] = ()
) -> QueryRoute:
    return QueryRoute(
        path,
        endpoint,
        summary,
        "segments",
        (*SEGMENT_PARAMETERS, *extra),
        DESCRIPTION,
        problems=READ_MODEL_PROBLEMS,
    )


SEGMENT_QUERIES = [
    _segment(
        "/segments/rfm",
        rfm,
        "The RFM segments (recency, frequency, monetary scores 1-5 by quintile): named "
        "segments and cells, or each buying customer's scores",
        (RFM_DETAIL,),
    ),
    _segment(
        "/segments/cohorts", cohorts, "Customers, buyers and revenue per skin type and concern"
    ),
    _segment(
        "/segments/churn", churn, "Churn risk: days since the last purchase vs k x their median gap"
    ),
    QueryRoute(
        "/segments/audiences",
        audiences,
        "The audiences, each at its latest version",
        "segments",
        problems=READ_MODEL_PROBLEMS,
    ),
    _segment(
        "/segments/audiences/{name}",
        audience_count,
        "How many customers an audience holds as of a moment (the computation is recorded)",
        (VERSION,),
    ),
    _segment(
        "/segments/audiences/{name}/members",
        audience_members,
        "An audience's members whose consent to its purpose holds now (export)",
        (VERSION,),
    ),
]

SEGMENT_POSTS = [
    ActionPost(
        "/segments/audiences",
        m.AudienceIn,
        define,
        "Define an audience (a purpose and conditions on traits); a known name gets a new version",
        "segments",
        ok=201,
    ),
]
