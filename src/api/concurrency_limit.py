"""A bound on the expensive reads (exports, histories, time travel, batch traces, analytics):
each principal may have a few in flight at once, and all principals together a few more; the
excess is answered 429 with Retry-After at once, so one token can no longer fill the server's
threads and slow every sale.

A concurrency limit, not a rate limit (requests per minute belong to the gateway in front):
it counts requests in flight, in this process, on its event loop (one thread: no lock needed).
The rate-limit libraries at hand (limits, slowapi) count requests per time window, which is
not this question."""

from __future__ import annotations

from collections import Counter

from starlette.types import ASGIApp, Receive, Scope, Send

from api.access import PRINCIPAL_KEY, ROUTE_KEY
from api.auth import Principal
from api.problems import problem_response

RETRY_AFTER_SECONDS = 1


class ConcurrencyLimit:
    def __init__(
        self, app: ASGIApp, routes: frozenset[tuple[str, str]], per_principal: int, total: int
    ) -> None:
        self.app, self.routes, self.per_principal, self.total = app, routes, per_principal, total
        self.in_flight: Counter[Principal] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        principal = scope.get(PRINCIPAL_KEY)
        if scope.get(ROUTE_KEY) not in self.routes or not isinstance(principal, Principal):
            await self.app(scope, receive, send)
            return
        who = principal  # subject, role and what it is bound to (channel, location, customer)
        refusal = self._refusal(who)
        if refusal is not None:
            response = problem_response(429, "too-many-at-once", "Too many at once", refusal)
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            await response(scope, receive, send)
            return
        self.in_flight[who] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight[who] -= 1
            if self.in_flight[who] <= 0:
                del self.in_flight[who]

    def _refusal(self, who: Principal) -> str | None:
        if self.in_flight[who] >= self.per_principal:
            return (
                f"this token already has {self.per_principal} expensive reads (exports, "
                "histories, analytics) in flight; retry when one has finished"
            )
        if self.in_flight.total() >= self.total:
            return f"{self.total} expensive reads are in flight; retry in a moment"
        return None
