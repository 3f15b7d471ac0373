"""A GET route as its table declares it: path, endpoint, and what the OpenAPI document says of
it (summary, tag, query parameters, the problems it may answer, the media type of its answer).
The app, the access control's query check and the OpenAPI document all read these."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.query_parameters import Parameter

Endpoint = Callable[[Request], Awaitable[Response]]
PROBLEMS = (401, 403, 404, 409, 422, 429)  # 429: rate limits (GLOW_RATE_LIMITS)
READ_MODEL_PROBLEMS = (*PROBLEMS, 503)  # 503 read-models-off: this process does not serve them


@dataclass(frozen=True)
class QueryRoute:
    path: str
    endpoint: Endpoint
    summary: str
    tag: str
    parameters: tuple[Parameter[Any], ...] = ()
    description: str = ""
    problems: tuple[int, ...] = PROBLEMS
    media_type: str = "application/json"

    def route(self) -> Route:
        return Route(self.path, self.endpoint)
