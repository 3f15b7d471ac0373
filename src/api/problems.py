"""Errors as application/problem+json (RFC 9457): one status per error class, in one place."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response

from audit import errors as audit
from domain import errors as e

PROBLEM_TYPE_BASE = "/problems/"
STANDARD_MEMBERS = frozenset({"type", "title", "status", "detail", "instance"})

STATUS_BY_ERROR: list[tuple[type[e.DomainError], int]] = [
    (e.NotFoundError, 404),
    (e.NotPermittedError, 403),
    (e.InvalidCommandError, 422),
    (e.ConflictError, 409),
]

STATUS_BY_AUDIT_ERROR: list[tuple[type[audit.AuditError], int]] = [
    (audit.UnknownAggregateError, 404),
    (audit.InvalidAuditQueryError, 422),
    (audit.ChainUnavailableError, 501),
]


class ApiProblem(Exception):  # noqa: N818 (a problem document, named as RFC 9457 does)
    """A refusal raised by the HTTP layer itself (bad JSON, missing header, body too large)."""

    def __init__(self, status: int, code: str, title: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.code, self.title, self.detail, self.extra = (
            status,
            code,
            title,
            detail,
            extra,
        )


def problem_response(
    status: int,
    code: str,
    title: str,
    detail: str,
    instance: str | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> Response:
    """Extension members never replace the standard ones: a clashing name is given a prefix."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance is not None:
        body["instance"] = instance
    prefix = code.split("-")[0]
    for name, value in (extensions or {}).items():
        body[f"{prefix}_{name}" if name in STANDARD_MEMBERS else name] = value
    return Response(orjson.dumps(body), status_code=status, media_type="application/problem+json")


def status_for(error: e.DomainError) -> int:
    for kind, status in STATUS_BY_ERROR:
        if isinstance(error, kind):
            return status
    return 400


def domain_problem(error: e.DomainError, instance: str) -> Response:
    title = type(error).__name__.removesuffix("Error")
    title = "".join(f" {ch.lower()}" if ch.isupper() else ch for ch in title).strip().capitalize()
    return problem_response(
        status_for(error), error.code, title, error.message, instance, _jsonable(error.details)
    )


def audit_problem(error: audit.AuditError, instance: str) -> Response:
    status = next((s for kind, s in STATUS_BY_AUDIT_ERROR if isinstance(error, kind)), 400)
    title = {404: "Not found", 422: "Invalid audit query", 501: "Not available"}.get(status, "")
    return problem_response(status, error.code, title or "Refused", str(error), instance)


def api_problem(problem: ApiProblem, instance: str) -> Response:
    return problem_response(
        problem.status, problem.code, problem.title, problem.detail, instance, problem.extra
    )


def _jsonable(details: dict[str, Any]) -> dict[str, Any]:
    return orjson.loads(orjson.dumps(details, default=str))  # type: ignore[no-any-return]
