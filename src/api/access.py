"""Who may call which route: one rule per (method, path template), enforced by one middleware
before any endpoint runs. A route without a rule is refused (and fails the access tests).

Rules that need a path or query parameter (a customer's own profile, a store's own location)
are decided here; rules that need the body or the answer (the locations a command or a
reservation touches) by the endpoint, through `require_locations`.

Store staff read per-location stock of their own location only: elsewhere they see the totals
over all locations (what a shop assistant tells a customer about stock elsewhere or online),
never another location's figures or batches (`staff_view`, `nearest_for`). They read the
reservations they may confirm or release: those whose every line is at their location.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

from api.auth import Principal, TokenError, TokenVerifier
from api.problems import ApiProblem, api_problem, problem_response
from api.query_parameters import Declared, check_query

PRINCIPAL_KEY = "glow.principal"
ROUTE_KEY = "glow.route"  # (method, path template) of the route the request matched


@dataclass(frozen=True)
class Access:
    roles: frozenset[str] = frozenset()
    public: bool = False
    own_customer: bool = False  # a customer may only name their own customer_id
    own_location: str | None = None  # the path or query parameter staff may only name as theirs
    needs_pii: bool = False  # an auditor needs the pii:read scope
    # A channel token must act for one of these channels (empty: any channel).
    channels: frozenset[str] = frozenset()
    # Authenticated by the request's own signature, checked by the endpoint (a signed
    # webhook): no bearer token is read, and an unsigned request is a 401 there.
    signed: bool = False

    def refusal(
        self,
        principal: Principal,
        path_params: Mapping[str, Any],
        query: Callable[[], Mapping[str, str]] = dict,
    ) -> str | None:
        if principal.role not in self.roles:
            return f"the {principal.role} role may not use this route"
        if self.channels and principal.role == "channel" and principal.channel not in self.channels:
            return (
                f"a channel token of {principal.channel!r} may not use this route; only one of "
                f"the {', '.join(sorted(self.channels))} channel(s) may"
            )
        named_customer = str(path_params.get("customer_id"))
        if self.own_customer and principal.role == "customer":
            return _unless(named_customer == str(principal.customer_id), "their own profile")
        if self.own_location and principal.role == "store-staff":
            named = path_params.get(self.own_location) or query().get(self.own_location) or None
            return _unless(named in (None, principal.location), "their own location")
        if self.needs_pii and not principal.may_read_pii:
            return "this route returns personal data: the token needs the pii:read scope"
        return None


def _unless(allowed: bool, what: str) -> str | None:
    return None if allowed else f"this token may only reach {what}"


def allow(*roles: str, **options: Any) -> Access:
    if "channels" in options:
        options["channels"] = frozenset(options["channels"])
    return Access(roles=frozenset(roles), **options)


PUBLIC = Access(public=True)
SIGNED = Access(signed=True)


class AccessControl:
    def __init__(
        self,
        app: ASGIApp,
        verifier: TokenVerifier,
        rules: Mapping[tuple[str, str], Access],
        routes: Iterable[BaseRoute],
        queries: Declared | None = None,
    ) -> None:
        self.app, self.verifier, self.rules, self.routes = app, verifier, rules, list(routes)
        self.queries = queries or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        found = self._route(scope)
        if found is None:  # no such route, or not with this method: the router answers
            await self.app(scope, receive, send)
            return
        key, path_params = found
        scope[ROUTE_KEY] = key
        access = self.rules.get(key)
        refusal = self._refusal(scope, access, path_params)
        if refusal is None and key[0] == "GET":
            refusal = self._invalid_query(scope, key[1])
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _invalid_query(self, scope: Scope, path: str) -> Response | None:
        """Every declared query parameter is checked before the endpoint runs."""
        try:
            check_query(Request(scope), self.queries.get(path, ()))
        except ApiProblem as problem:
            return api_problem(problem, scope["path"])
        return None

    def _refusal(self, scope: Scope, access: Access | None, path_params: Mapping[str, Any]) -> Any:
        return refusal(self.verifier, scope, access, path_params)

    def _route(self, scope: Scope) -> tuple[tuple[str, str], Mapping[str, Any]] | None:
        method = "GET" if scope["method"] == "HEAD" else scope["method"]
        for route in self.routes:
            match, child = route.matches(scope)
            if match == Match.FULL:
                return (method, getattr(route, "path", "")), child.get("path_params", {})
        return None


def refusal(
    verifier: TokenVerifier, scope: Scope, access: Access | None, path_params: Mapping[str, Any]
) -> Response | None:
    """The response refusing this call, or None when the caller may make it (the principal
    is then in the scope for the endpoint)."""
    path = scope["path"]
    if access is None:
        return problem_response(
            403, "no-access-rule", "No access rule", f"{path} has no access rule", path
        )
    if access.public or access.signed:
        return None
    try:
        principal = verifier.verify(_bearer(Request(scope)))
    except TokenError as error:
        response = problem_response(401, "unauthenticated", "Unauthenticated", str(error), path)
        response.headers["WWW-Authenticate"] = 'Bearer realm="glowledger"'
        return response
    reason = access.refusal(principal, path_params, lambda: Request(scope).query_params)
    if reason is not None:
        return problem_response(403, "forbidden", "Forbidden", reason, path)
    scope[PRINCIPAL_KEY] = principal
    return None


def principal_of(request: Request) -> Principal:
    principal = request.scope.get(PRINCIPAL_KEY)
    if not isinstance(principal, Principal):
        raise ApiProblem(401, "unauthenticated", "Unauthenticated", "no bearer token was checked")
    return principal


def require_locations(principal: Principal, locations: Iterable[str]) -> None:
    if principal.role != "store-staff":
        return
    others = sorted({loc for loc in locations if loc != principal.location})
    if others:
        raise ApiProblem(
            403,
            "forbidden",
            "Forbidden",
            f"store staff of {principal.location!r} may not act at {', '.join(others)}",
        )


def sees_location(principal: Principal, location: str) -> bool:
    return principal.role != "store-staff" or location == principal.location


def staff_view(principal: Principal, summary: dict[str, Any]) -> dict[str, Any]:
    """A summary over locations (totals and `locations`) as the principal may read it."""
    if principal.role != "store-staff":
        return summary
    mine = [place for place in summary["locations"] if sees_location(principal, place["location"])]
    return {**summary, "locations": mine}


def nearest_for(principal: Principal, found: dict[str, Any] | None) -> dict[str, Any] | None:
    """The nearest location that can serve: another location's figures are left out for store
    staff, who learn only where to send the customer."""
    if found is None or sees_location(principal, found["location"]):
        return found
    return {"sku": found["sku"], "location": found["location"]}


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenError("send a bearer token: Authorization: Bearer <token> (see `glow token`)")
    return token.strip()
