"""The support and communication log of a customer: `POST /customers/{id}/support-contacts`
records one contact (channel, topic, outcome, agent id, when, and notes sealed with the
customer's key) as `Customer.SupportContactRecorded`; `GET` lists them. The back office (an
admin, or a channel token of the `backoffice` channel) records and reads every contact; store
staff record the contacts made in their store. Notes are shown to admins and to auditors with
pii:read, "[redacted]" to the others, "[erased]" after the customer is forgotten."""

from __future__ import annotations

from uuid import UUID, uuid4

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api.access import principal_of
from api.access_logging import log_access
from api.auth import PII_READ, Principal
from api.customer_routes import Context, CustomerRoute
from api.feedback_models import SupportContactIn, utc
from api.json_answers import json_answer
from api.problems import ApiProblem
from api.query_route import QueryRoute
from api.request_state import runtime_of, uuid_path_parameter
from domain import customer_commands as c
from service_layer import feedback_views

STORE_CONTACT = "store"


def _record(body: SupportContactIn, customer_id: UUID | None, ctx: Context) -> c.CustomerCommand:
    assert customer_id is not None  # the route names one
    if ctx.caller.role == "store-staff" and body.channel != STORE_CONTACT:
        raise ApiProblem(
            403,
            "forbidden",
            "Forbidden",
            f"store staff record the contacts made in their store (channel {STORE_CONTACT!r}), "
            f"not by {body.channel}; the back office records the others",
        )
    return c.RecordSupportContact(
        customer_id,
        body.contact_id or str(uuid4()),
        body.channel,
        body.topic,
        body.outcome,
        body.agent,
        body.notes,
        ctx.trace.at(utc(body.occurred_at)),
        ctx.trace.occurred_at,
    )


SUPPORT_COMMAND_ROUTES = [
    CustomerRoute(
        "/customers/{customer_id}/support-contacts",
        SupportContactIn,
        _record,
        "Record a support contact (channel, topic, outcome, agent id; notes sealed)",
        creates=True,
    ),
]


def reads_notes(principal: Principal) -> bool:
    return principal.role == "admin" or (
        principal.role == "auditor" and PII_READ in principal.scopes
    )


async def support_contacts(request: Request) -> Response:
    runtime = runtime_of(request)
    customer_id = uuid_path_parameter(request, "customer_id")
    customer = await run_in_threadpool(runtime.customers.customer, customer_id)
    people = [customer, *await run_in_threadpool(runtime.customers.merged_from, customer)]
    with_notes = reads_notes(principal_of(request))
    if with_notes and not customer.forgotten:
        reason = request.headers.get("x-access-reason")
        await log_access(request, customer.id, "read support contacts", reason)
    contacts = feedback_views.support_contacts(people, with_notes=with_notes)
    return json_answer(
        {
            "customer_id": str(customer.id),
            "status": "forgotten" if customer.forgotten else "active",
            "support_contacts": contacts,
        }
    )


SUPPORT_QUERIES = [
    QueryRoute(
        "/customers/{customer_id}/support-contacts",
        support_contacts,
        "A customer's support contacts, oldest first (notes to admins and pii:read only)",
        "customers",
    ),
]
