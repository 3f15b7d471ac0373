"""What an endpoint reads off its request besides the caller: the ledger runtime the app
serves from, and a path parameter that must be a UUID or a code."""

from __future__ import annotations

from uuid import UUID

from starlette.requests import Request

from api.problems import ApiProblem
from api.query_parameters import CODE
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


def code_path_parameter(request: Request, name: str, what: str = "code") -> str:
    """A path parameter that must be a code (a SKU, a location): 422 saying what a code is."""
    raw = str(request.path_params[name])
    if CODE.fullmatch(raw) is None:
        raise ApiProblem(
            422,
            "invalid-path-parameter",
            "Invalid path parameter",
            f"{name} {raw[:60]!r} is not a {what}: expected 1 to 64 letters, digits and"
            " . _ : / -, starting with a letter or digit",
        )
    return raw
