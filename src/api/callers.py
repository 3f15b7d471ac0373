"""Who is calling a command route: the channel and principal the events record (the token's,
never the caller's say-so), and the Idempotency-Key they sent."""

from __future__ import annotations

from starlette.requests import Request

from api.access import principal_of
from api.problems import ApiProblem
from domain.channel_rules import CHANNELS

MAX_KEY_LENGTH = 200


def idempotency_key(request: Request) -> str:
    key = request.headers.get("idempotency-key", "").strip()
    if not key:
        raise ApiProblem(
            400,
            "missing-idempotency-key",
            "Missing Idempotency-Key",
            "every command needs an Idempotency-Key header (a unique string per command, "
            "e.g. a UUID); send the same key when you retry",
        )
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ApiProblem(
            400,
            "invalid-idempotency-key",
            "Invalid Idempotency-Key",
            f"the Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters",
        )
    return key


def caller(request: Request) -> tuple[str, str]:
    """The channel and principal the events record: the token's, never the caller's say-so.

    X-Channel stays required; it must name the token's channel (an admin token, which names
    none, may act on any channel). X-Principal is ignored: the token's subject is recorded."""
    channel = request.headers.get("x-channel", "").strip().lower()
    if channel not in CHANNELS:
        raise ApiProblem(
            400,
            "unknown-channel",
            "Unknown channel",
            f"the X-Channel header was {channel or 'missing'!r}; expected one of "
            f"{', '.join(CHANNELS)}",
        )
    principal = principal_of(request)
    if principal.channel is not None and principal.channel != channel:
        raise ApiProblem(
            403,
            "forbidden",
            "Forbidden",
            f"the token acts for channel {principal.channel!r}, not {channel!r}",
        )
    return channel, principal.subject
