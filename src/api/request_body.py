"""Reading a command's body: size cap, JSON, pydantic validation (its fingerprint is keyed:
privacy.pseudonyms)."""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from api.problems import ApiProblem

M = TypeVar("M", bound=BaseModel)


async def read_json(request: Request, max_bytes: int) -> tuple[Any, bytes]:
    raw = await read_bytes(request, max_bytes)
    return parse_json(request, raw), raw


async def read_bytes(request: Request, max_bytes: int) -> bytes:
    """The body exactly as sent (a signed webhook is verified on these bytes), size-capped."""
    declared = request.headers.get("content-length")
    if (
        declared is not None
        and declared.isascii()
        and declared.isdigit()
        and int(declared) > max_bytes
    ):
        raise _too_large(int(declared), max_bytes)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(size, max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(request: Request, raw: bytes) -> Any:
    content_type = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if content_type not in ("application/json", "application/*+json") and not content_type.endswith(
        "+json"
    ):
        raise ApiProblem(
            415,
            "unsupported-media-type",
            "Unsupported media type",
            f"send the command as application/json, not {content_type!r}",
        )
    try:
        return orjson.loads(raw or b"{}")
    except orjson.JSONDecodeError as error:
        raise ApiProblem(
            400,
            "malformed-json",
            "Malformed JSON",
            f"the body is not valid JSON: {error}; expected one JSON object",
        ) from None


def validate(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = [
            {
                "field": ".".join(str(p) for p in item["loc"]) or "(body)",
                "problem": item["msg"] + _expected_format(item["type"]),
                "input": _short(item.get("input")),
            }
            for item in error.errors(include_url=False)
        ]
        said = "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
        raise ApiProblem(
            422,
            "invalid-request",
            "Invalid request",
            f"{len(problems)} field(s) are invalid: {said}",
            errors=problems,
        ) from None


def _expected_format(error_type: str) -> str:
    """pydantic says a date is malformed but not how to spell one; say it."""
    if error_type.startswith("datetime"):
        return " (expected ISO 8601 with an offset, e.g. 2026-11-26T10:00:00Z)"
    if error_type.startswith("date"):
        return " (expected YYYY-MM-DD)"
    return ""


def _short(value: Any) -> Any:
    text = orjson.dumps(value, default=str)
    return value if len(text) <= 200 else text[:200].decode(errors="replace") + "..."


def _too_large(size: int, max_bytes: int) -> ApiProblem:
    return ApiProblem(
        413,
        "body-too-large",
        "Body too large",
        f"the body has at least {size} bytes; at most {max_bytes} are accepted",
        max_bytes=max_bytes,
    )
