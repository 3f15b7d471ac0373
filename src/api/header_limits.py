"""Request headers are counted and sized before anything reads them (the bearer token, the
access rules): more than GLOW_MAX_HEADER_COUNT headers, or more than GLOW_MAX_HEADER_BYTES in
all, is a 431 problem. uvicorn bounds the header block only with h11
(`h11_max_incomplete_event_size`, set by `glow serve`), not with httptools, and neither bounds
the count: an 8 MB Authorization header and 100,000 headers were parsed and handed on."""

from __future__ import annotations

from starlette.responses import Response
from starlette.types import Scope

from api.problems import problem_response


def header_refusal(scope: Scope, max_count: int, max_bytes: int) -> Response | None:
    headers: list[tuple[bytes, bytes]] = scope["headers"]
    if len(headers) > max_count:
        detail = f"the request has {len(headers)} headers; at most {max_count} are accepted"
        return problem_response(431, "headers-too-large", "Request headers too large", detail)
    size = sum(len(name) + len(value) for name, value in headers)
    if size > max_bytes:
        detail = f"the request's headers take {size} bytes; at most {max_bytes} are accepted"
        return problem_response(431, "headers-too-large", "Request headers too large", detail)
    return None
