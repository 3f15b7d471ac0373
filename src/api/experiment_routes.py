"""A/B experiments over HTTP: the back office defines and stops them; analysts and the back
office list them and read one with its report (per variant: exposed customers, conversions,
rates with 95% intervals, the difference to the control, the guardrails' status), computed in
ClickHouse where this process has it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api import experiment_models as m
from api.access import principal_of
from api.action_post import ActionPost
from api.json_answers import json_answer
from api.problems import ApiProblem
from api.query_route import QueryRoute
from api.request_body import read_json, validate
from api.request_state import runtime_of, uuid_path_parameter
from domain.experiment import MODEL, POLICY, Definition, Variant
from recommender.config import recommendations_url
from recommender.store import RecommendationStore
from service_layer.experiment_desk import (
    ExperimentDesk,
    ExperimentReportUnavailableError,
    UnknownExperimentError,
    describe,
)
from service_layer.experiment_serving import waiting_for


def _desk(request: Request) -> ExperimentDesk:
    desk = runtime_of(request).experiments
    if desk is None:
        raise ApiProblem(503, "experiments-off", "Experiments off", "this process has no desk")
    return desk


def _store(request: Request) -> RecommendationStore | None:
    """The recommendations' store the API serves from (shared with its route), if any."""
    cache = getattr(request.app.state, "recommendations", None)
    if cache is not None:
        store: RecommendationStore = cache.store
        return store
    url = recommendations_url(runtime_of(request).settings)
    return RecommendationStore.from_url(url) if url else None


def _experiment_id(request: Request) -> UUID:
    return uuid_path_parameter(request, "experiment_id")


def _unknown(error: UnknownExperimentError) -> ApiProblem:
    return ApiProblem(404, "unknown-experiment", "Unknown experiment", str(error))


def definition(body: m.ExperimentIn, now: datetime) -> Definition:
    variants = tuple(
        Variant(v.name, v.weight, MODEL if v.model else POLICY, v.model or v.policy or "")
        for v in body.variants
    )
    return Definition(
        body.name,
        body.hypothesis,
        variants,
        body.control or variants[0].name,
        body.primary_metric,
        body.attribution_days,
        body.guardrails.returns_points,
        body.guardrails.returns_min_orders,
        body.start(now),
        body.ends_at,
    )


async def define(request: Request) -> Response:
    data, _ = await read_json(request, runtime_of(request).settings.max_body_bytes)
    body = validate(m.ExperimentIn, data)
    desk, subject, now = _desk(request), principal_of(request).subject, datetime.now(UTC)
    made = await run_in_threadpool(desk.define, definition(body, now), subject, now)
    store = _store(request)
    answer = {**describe(made, now), "waiting_for": waiting_for(made, store)}
    response = json_answer(answer)
    response.status_code = 201
    return response


async def stop(request: Request) -> Response:
    experiment_id = _experiment_id(request)
    data, _ = await read_json(request, runtime_of(request).settings.max_body_bytes)
    body = validate(m.StopIn, data)
    desk, subject = _desk(request), principal_of(request).subject
    try:
        stopped = await run_in_threadpool(
            desk.stop, experiment_id, body.reason, subject, body.variant
        )
    except UnknownExperimentError as error:
        raise _unknown(error) from None
    return json_answer(describe(stopped))


async def experiments(request: Request) -> Response:
    found = await run_in_threadpool(_desk(request).experiments)
    return json_answer({"experiments": [describe(e) for e in found]})


async def experiment(request: Request) -> Response:
    experiment_id, desk = _experiment_id(request), _desk(request)

    def read() -> dict[str, Any]:
        found = desk.experiment(experiment_id)
        body = describe(found)
        try:
            body = desk.report(experiment_id)
        except ExperimentReportUnavailableError as error:
            body["report"] = None
            body["report_unavailable"] = str(error)
        body["waiting_for"] = waiting_for(found, _store(request))
        return body

    try:
        return json_answer(await run_in_threadpool(read))
    except UnknownExperimentError as error:
        raise _unknown(error) from None


EXPERIMENT_QUERIES = [
    QueryRoute(
        "/experiments",
        experiments,
        "The experiments, each with its variants, period and status",
        "experiments",
        problems=(401, 403),
    ),
    QueryRoute(
        "/experiments/{experiment_id}",
        experiment,
        "One experiment and its report: per variant the exposed customers, conversions, CTR, "
        "revenue per exposed customer and returns rate with 95% intervals, the difference to "
        "the control, and the guardrails' status",
        "experiments",
        problems=(401, 403, 404, 422),
    ),
]

EXPERIMENT_POSTS = [
    ActionPost(
        "/experiments",
        m.ExperimentIn,
        define,
        "Define an experiment: variants (a challenger model version or a ranking policy) with "
        "traffic weights, the control, the primary metric, the attribution window, guardrails",
        "experiments",
        ok=201,
    ),
    ActionPost(
        "/experiments/{experiment_id}/stop",
        m.StopIn,
        stop,
        "Stop an experiment, or one variant of it (its customers get the control from then on)",
        "experiments",
    ),
]
