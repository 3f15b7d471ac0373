"""The till routes: registering a till at its store, a store's reconciliation policy, the
journal upload (api/till_journal.py) and a journal's reconciliation report."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from api.command_builders import Context
from api.command_route import CommandRoute
from api.query_route import PROBLEMS, Endpoint, QueryRoute
from api.till_journal import report, upload_journal
from api.till_models import JournalLineIn, ReconciliationPolicyIn, RegisterTillIn
from domain.till_commands import DeclareReconciliationPolicy, RegisterTill


def register_till(body: RegisterTillIn, ctx: Context) -> RegisterTill:
    return RegisterTill(body.till, body.location, ctx.trace)


def declare_policy(body: ReconciliationPolicyIn, ctx: Context) -> DeclareReconciliationPolicy:
    return DeclareReconciliationPolicy(ctx.path["location"], tuple(body.steps), ctx.trace)


TILL_COMMAND_ROUTES = [
    CommandRoute(
        "/tills",
        RegisterTillIn,
        register_till,
        "Register a till (POS register) at its store",
        "tills",
        creates=True,
    ),
    CommandRoute(
        "/locations/{location}/reconciliation-policy",
        ReconciliationPolicyIn,
        declare_policy,
        "Declare how a store reconciles late till sales that find their units held",
        "tills",
        path_params={"location": str},
    ),
]


@dataclass(frozen=True)
class StreamingPost:
    """A POST whose body and answer are streams of lines (application/x-ndjson)."""

    path: str
    line_model: type[BaseModel]
    endpoint: Endpoint
    summary: str
    tag: str


TILL_UPLOADS = [
    StreamingPost(
        "/tills/{till}/journals",
        JournalLineIn,
        upload_journal,
        "Upload a till's offline journal (JSON Lines or a JSON array): each line recorded "
        "once, in order; answered line by line (application/x-ndjson)",
        "tills",
    )
]

TILL_QUERIES = [
    QueryRoute(
        "/tills/{till}/journals/{journal_id}/report",
        report,
        "What a till journal's lines came to: what conflicted and what reconciling did",
        "tills",
        problems=PROBLEMS,
    )
]
