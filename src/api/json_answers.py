"""A query's JSON answer (commands answer through api/command_responses.py, problems through
api/problems.py)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


def json_answer(body: Any) -> Response:
    return Response(orjson.dumps(body, default=str), media_type="application/json")
