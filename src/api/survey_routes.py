"""Survey and poll answers from a survey tool, by signed webhook: `POST /feedback/surveys`.

The request is authenticated by its signature, not a bearer token: the Standard Webhooks
scheme the ledger signs its own webhooks with (`webhook-id`, `webhook-timestamp`,
`webhook-signature`: HMAC-SHA256 of id.timestamp.body under the source's secret, verified by
the `standardwebhooks` library, which refuses a timestamp more than 5 minutes from the
ledger's clock). `X-Survey-Source` names the tool, whose secret GLOW_SURVEY_WEBHOOK_SECRETS
holds. Nothing is read from the body before the signature verifies: an unknown source, a
missing or wrong signature, or an old timestamp is a 401 and records nothing.

The webhook-id is the idempotency key: a delivery sent again is answered with the first
answer (`Idempotent-Replayed: true`) and recorded once. An answer naming a customer becomes
`Customer.SurveyAnswered` through the customer writer (the answer sealed with the customer's
key); an unknown customer is a 404 and a forgotten one a 409, recording nothing. An anonymous
answer is only counted (storage/survey_tallies.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from uuid import UUID

from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api.action_post import ActionPost
from api.command_responses import command_response
from api.feedback_models import SurveyAnswerIn, utc
from api.json_answers import json_answer
from api.problems import ApiProblem
from api.request_body import parse_json, read_bytes, validate
from api.request_state import runtime_of
from api.tracing import traced
from domain.customer_commands import AnswerSurvey
from domain.feedback_rules import check_answer, require_survey_answer_time
from domain.trace import Trace
from privacy.access_log import AccessEntry
from service_layer.bootstrap import LedgerRuntime
from storage.command_answers import scoped_key
from storage.survey_tallies import TEXT_ANSWER, AnonymousAnswer

SOURCE_HEADER = "x-survey-source"
SIGNATURE_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
WEBHOOK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")
SURVEY_ROLE = "survey-source"  # who the access log and the events name: the tool, by source
KEY_CHANNEL = "survey-webhook"


def _unsigned(detail: str) -> ApiProblem:
    return ApiProblem(
        401,
        "bad-signature",
        "Bad signature",
        f"{detail}; nothing was recorded. Expected X-Survey-Source naming a configured source "
        "and the Standard Webhooks headers webhook-id, webhook-timestamp (Unix seconds, within "
        "5 minutes of the ledger's clock) and webhook-signature (v1,<base64 HMAC-SHA256 of "
        "id.timestamp.body under the source's secret>)",
    )


async def _verified_body(request: Request, runtime: LedgerRuntime) -> tuple[str, str, bytes]:
    """(source, webhook-id, body) of a request whose signature verifies; else a 401."""
    source = request.headers.get(SOURCE_HEADER, "")
    secret = runtime.settings.survey_webhook_secret(source) if source else None
    if secret is None:
        named = f"survey source {source[:40]!r} is not configured" if source else "no source"
        raise _unsigned(f"{named} (X-Survey-Source)")
    missing = [name for name in SIGNATURE_HEADERS if not request.headers.get(name)]
    if missing:
        raise _unsigned(f"the request lacks {', '.join(missing)}")
    raw = await read_bytes(request, runtime.settings.max_body_bytes)
    try:
        Webhook(secret).verify(raw, dict(request.headers), json_parse=False)
    except WebhookVerificationError as error:
        raise _unsigned(f"the webhook signature did not verify ({error})") from None
    webhook_id = request.headers["webhook-id"]
    if not WEBHOOK_ID.match(webhook_id):
        raise ApiProblem(
            422,
            "invalid-webhook-id",
            "Invalid webhook-id",
            f"webhook-id {webhook_id[:60]!r} is not an id: expected 1 to 100 letters, digits "
            "and . _ : - (it is the delivery's idempotency key)",
        )
    return source, webhook_id, raw


async def receive_survey_answer(request: Request) -> Response:
    runtime = runtime_of(request)
    source, webhook_id, raw = await _verified_body(request, runtime)
    data = parse_json(request, raw)
    body = validate(SurveyAnswerIn, data)
    fingerprint = runtime.pseudonyms.fingerprint("POST", request.url.path, data)
    now = datetime.now(tz=UTC)
    answered_at = utc(body.answered_at)
    if body.customer_id is None:
        return await _count(runtime, source, webhook_id, fingerprint, body, answered_at, now)
    principal = f"survey:{source}"
    trace = traced(Trace(body.channel, principal, answered_at, webhook_id))
    command = AnswerSurvey(
        body.customer_id,
        body.survey_id,
        body.question_id,
        body.question_kind,
        body.answer,
        body.maps_to,
        trace,
        now,
    )
    key = scoped_key(principal, KEY_CHANNEL, webhook_id)
    outcome = await run_in_threadpool(runtime.customers.execute, command, key, fingerprint)
    entry = AccessEntry(
        principal,
        SURVEY_ROLE,
        body.channel,
        UUID(outcome.body["customer_id"]),
        "write /feedback/surveys",
        None,
    )
    await run_in_threadpool(runtime.access_log.record, entry)
    return command_response(outcome, route_creates=False)


async def _count(
    runtime: LedgerRuntime,
    source: str,
    webhook_id: str,
    fingerprint: str,
    body: SurveyAnswerIn,
    answered_at: datetime,
    now: datetime,
) -> Response:
    """An anonymous answer: counted per option code or scale value, a text never kept."""
    require_survey_answer_time(answered_at, now)
    stored = check_answer(body.question_kind, body.answer)
    counted = (
        tuple(stored)
        if isinstance(stored, list)
        else (str(stored),)
        if isinstance(stored, int)
        else (TEXT_ANSWER,)
    )
    answer = AnonymousAnswer(
        source,
        webhook_id,
        fingerprint,
        body.survey_id,
        body.question_id,
        body.question_kind,
        counted,
    )
    tallies = runtime.survey_tallies
    assert tallies is not None  # bootstrap opens them beside the customer ledger
    first = await run_in_threadpool(tallies.record, answer)
    response = json_answer(
        {
            "survey_id": body.survey_id,
            "question_id": body.question_id,
            "recorded": "counted",  # anonymous: a count, never the answer itself
            "profile": "no-customer",
        }
    )
    if not first:
        response.headers["Idempotent-Replayed"] = "true"
    return response


SURVEY_POSTS = [
    ActionPost(
        "/feedback/surveys",
        SurveyAnswerIn,
        receive_survey_answer,
        "A survey or poll answer from a survey tool, signed per Standard Webhooks "
        "(X-Survey-Source, webhook-id, webhook-timestamp, webhook-signature); a customer's "
        "answer is sealed in their ledger, an anonymous one only counted",
        "feedback",
        signed=True,
    ),
]
