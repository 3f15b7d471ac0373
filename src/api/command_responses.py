"""How a command's outcome is answered over HTTP, for every command route: 201 Created when
the route is one that creates (its table says so) and the result says the command created
something, 200 otherwise (a registration that found an existing customer); a replayed first
answer carries `Idempotent-Replayed: true`."""

from __future__ import annotations

import orjson
from starlette.responses import Response

from service_layer.writer import Outcome

CREATED, OK = 201, 200


def command_status(outcome: Outcome, route_creates: bool) -> int:
    return CREATED if route_creates and outcome.created else OK


def command_response(outcome: Outcome, route_creates: bool) -> Response:
    return Response(
        orjson.dumps(outcome.body),
        status_code=command_status(outcome, route_creates),
        media_type="application/json",
        headers={"Idempotent-Replayed": "true"} if outcome.replayed else {},
    )
