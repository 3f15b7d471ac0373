"""What a caller's role and channel bound: how far back it may date a command.

The rules themselves are the domain's (dating); this module only says, from the token, which
bounds apply."""

from __future__ import annotations

from datetime import datetime, timedelta

from api.auth import Principal
from domain.dating import require_plausible_occurrence
from service_layer.settings import Settings

MAX_CLOCK_SKEW = timedelta(minutes=5)


def occurred_at(
    reported: datetime | None, now: datetime, caller: Principal, channel: str, settings: Settings
) -> datetime:
    """When the command happened: now, or the caller's `occurred_at` (already in UTC) if it
    lies within the caller's backdating bound and the clock skew."""
    if reported is None:
        return now
    backdating = timedelta(seconds=settings.backdating_seconds[_backdating_entry(caller, channel)])
    require_plausible_occurrence(reported, now, backdating, MAX_CLOCK_SKEW)
    return reported


def _backdating_entry(caller: Principal, channel: str) -> str:
    if caller.role == "admin":
        return "admin"
    if caller.role == "store-staff":
        return caller.channel or "pos"
    return caller.channel or channel
