"""Webhooks over HTTP, for the back office: subscribe (the secret is in this answer only),
list and remove subscriptions, list dead letters and replay them. Webhooks need PostgreSQL
(their outbox is a table beside the event store): elsewhere these routes answer 503."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api import webhook_models as m
from api.action_post import ActionPost
from api.json_answers import json_answer
from api.problems import ApiProblem
from api.query_parameters import whole
from api.query_route import QueryRoute
from api.request_body import read_json, validate
from api.request_state import runtime_of, uuid_path_parameter
from service_layer.webhook_desk import WebhookDesk

LIMIT = whole("limit", 1, 1000, 100)


def _desk(request: Request) -> WebhookDesk:
    desk = runtime_of(request).webhook_desk
    if desk is None:
        raise ApiProblem(
            503,
            "webhooks-unavailable",
            "Webhooks unavailable",
            "webhooks need the PostgreSQL event store (their outbox lives beside it); this "
            "ledger runs on SQLite",
        )
    return desk


async def _body(request: Request) -> object:
    data, _ = await read_json(request, runtime_of(request).settings.max_body_bytes)
    return data


async def subscribe(request: Request) -> Response:
    body = validate(m.SubscribeIn, await _body(request))
    desk = _desk(request)
    made = await run_in_threadpool(desk.subscribe, body.url, body.event_types, body.channels)
    response = json_answer(made)
    response.status_code = 201
    return response


async def remove(request: Request) -> Response:
    subscription_id = uuid_path_parameter(request, "subscription_id")
    validate(m.RemoveSubscriptionIn, await _body(request))
    await run_in_threadpool(_desk(request).remove, subscription_id)
    return json_answer({"subscription_id": str(subscription_id), "removed": True})


async def replay(request: Request) -> Response:
    body = validate(m.ReplayIn, await _body(request))
    replayed = await run_in_threadpool(
        _desk(request).replay, body.subscription_id, body.message_ids
    )
    return json_answer({"replayed": replayed})


async def subscriptions(request: Request) -> Response:
    found = await run_in_threadpool(_desk(request).listed)
    return json_answer({"subscriptions": found})


async def dead_letters(request: Request) -> Response:
    desk = _desk(request)
    found = await run_in_threadpool(desk.dead_letters, None, LIMIT.value(request))
    counts = await run_in_threadpool(desk.counts)
    return json_answer({"dead_letters": found, "deliveries": counts})


WEBHOOK_POSTS = [
    ActionPost(
        "/webhooks/subscriptions",
        m.SubscribeIn,
        subscribe,
        "Subscribe a URL to webhook event types; the answer shows the signing secret, once",
        "webhooks",
        ok=201,
    ),
    ActionPost(
        "/webhooks/subscriptions/{subscription_id}/remove",
        m.RemoveSubscriptionIn,
        remove,
        "Remove a subscription: nothing more is derived or sent to it",
        "webhooks",
    ),
    ActionPost(
        "/webhooks/dead-letters/replay",
        m.ReplayIn,
        replay,
        "Send dead-lettered deliveries again (all, one subscription's, or by webhook-id)",
        "webhooks",
    ),
]

WEBHOOK_QUERIES = [
    QueryRoute(
        "/webhooks/subscriptions",
        subscriptions,
        "The webhook subscriptions (never their secrets)",
        "webhooks",
    ),
    QueryRoute(
        "/webhooks/dead-letters",
        dead_letters,
        "Deliveries that failed every attempt, and deliveries by status",
        "webhooks",
        parameters=(LIMIT,),
    ),
]
