"""Every read or write of a customer's personal data from an endpoint goes to the access log:
who (principal, role, channel), whose, what, and the reason given."""

from __future__ import annotations

from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from api.access import principal_of
from api.request_state import runtime_of
from privacy.access_log import AccessEntry

MAX_REASON = 500


async def log_access(request: Request, customer_id: UUID, action: str, reason: str | None) -> None:
    principal = principal_of(request)
    entry = AccessEntry(
        principal.subject,
        principal.role,
        principal.channel,
        customer_id,
        action,
        (reason or "")[:MAX_REASON] or None,
    )
    await run_in_threadpool(runtime_of(request).access_log.record, entry)
