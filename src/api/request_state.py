"""What an endpoint reads off its request besides the caller: the ledger runtime the app
serves from, and a path parameter that must be a UUID."""

from __future__ import annotations

from uuid import UUID

from starlette.requests import Request

from api.problems import ApiProblem
from service_layer.bootstrap import LedgerRuntime


def runtime_of(request: Request) -> LedgerRuntime:
    runtime: LedgerRuntime = request.app.state.runtime
    return runtime


def uuid_path_parameter(request: Request, name: str) -> UUID:
    raw = request.path_params[name]
    try:
        return UUID(raw)
    except ValueError:
        raise ApiProblem(
            422,
            "invalid-path-parameter",
            "Invalid path parameter",
            f"{name} {raw!r} is not a UUID",
        ) from None
