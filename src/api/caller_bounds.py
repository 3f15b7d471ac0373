"""What a caller's role and channel bound: how far back it may date a command, whose
reservations it may confirm or release, whether it may take a return no sale covers, and
(for the selling roles) how many units a line may carry and how long a hold may last.

The rules themselves are the domain's (dating, Reservation.require_authority, the return
book); this module only says, from the token, which bounds apply."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from api.auth import Principal
from api.problems import ApiProblem
from configuration.settings import Settings
from domain import commands as c
from domain import order_commands as o
from domain.dating import require_plausible_occurrence

MAX_CLOCK_SKEW = timedelta(minutes=5)
SELLING_ROLES = ("channel", "store-staff")
BACK_OFFICE_CHANNEL = "backoffice"


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


def caller_authority(caller: Principal) -> c.Authority:
    """A channel acts on its own reservations; store staff on those held at their location
    (whichever channel placed them: a web order collected in store); an admin on any."""
    if caller.role == "channel":
        return c.Authority(channel=caller.channel)
    if caller.role == "store-staff":
        return c.Authority(location=caller.location)
    return c.EVERYWHERE


def require_may_see_reservation(caller: Principal, reservation: dict[str, Any]) -> None:
    """A reservation is read by whoever may act on it (and by auditors)."""
    locations = [line["location"] for line in reservation["lines"]]
    what = f"reservation {reservation['reservation_id']}"
    _require_may_see(caller, what, reservation["channel"], locations)


def require_may_see_preorder(caller: Principal, preorder: dict[str, Any]) -> None:
    """A pre-order is read by whoever may act on it (and by auditors)."""
    what = f"pre-order {preorder['preorder_id']}"
    _require_may_see(caller, what, preorder["channel"], [preorder["location"]])


def _require_may_see(caller: Principal, what: str, channel: str, locations: list[str]) -> None:
    if caller.role == "auditor":
        return
    refusal = caller_authority(caller).refusal(channel, locations)
    if refusal is not None:
        raise ApiProblem(
            403, "forbidden", "Forbidden", f"{what} cannot be read by this caller: {refusal}"
        )


def is_back_office(caller: Principal, channel: str) -> bool:
    return caller.role == "admin" or channel == BACK_OFFICE_CHANNEL


def require_seller_limits(
    caller: Principal, command: c.Command, now: datetime, settings: Settings
) -> None:
    if caller.role not in SELLING_ROLES:
        return
    most = settings.seller_max_line_quantity
    for quantity in _quantities(command):
        if quantity > most:
            raise _limit(
                f"a {caller.role} token may put at most {most} unit(s) on one line, got "
                f"{quantity}; larger movements go through the back office",
                "max_line_quantity",
                most,
            )
    longest = settings.seller_max_reservation_ttl_seconds
    if isinstance(command, c.PlaceReservation) and command.expires_at - now > timedelta(
        seconds=longest
    ):
        raise _limit(
            f"a {caller.role} token may hold stock for at most {longest} seconds; ask for a "
            "shorter ttl_seconds",
            "max_reservation_ttl_seconds",
            longest,
        )
    if isinstance(command, c.ExtendReservation) and command.extra > timedelta(seconds=longest):
        raise _limit(
            f"a {caller.role} token may extend a hold by at most {longest} seconds; ask for a "
            "shorter extend_by_seconds",
            "max_reservation_ttl_seconds",
            longest,
        )


def _backdating_entry(caller: Principal, channel: str) -> str:
    if caller.role == "admin":
        return "admin"
    if caller.role == "store-staff":
        return caller.channel or "pos"
    return caller.channel or channel


def _quantities(command: c.Command) -> list[int]:
    if isinstance(command, c.PlaceReservation | c.SellDirect | o.PlaceOrder):
        return [line.quantity for line in command.lines]
    if isinstance(command, o.EditOrderLines):
        return [line.quantity for line in command.add] + list(command.change.values())
    if isinstance(command, c.AcceptReturn | c.PlacePreorder):
        return [command.quantity]
    return []


def _limit(detail: str, name: str, value: int) -> ApiProblem:
    return ApiProblem(422, "limit-exceeded", "Limit exceeded", detail, limit=name, value=value)
