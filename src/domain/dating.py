"""The dates a command may carry: within a range a business would use, judged against the
day the ledger records it (passed in, never read from a clock here).

Every date a caller sends is checked before any arithmetic is done with it, so no date can
make a projector, a rule or a report fail later (a batch expiring in 0001 once stopped a read
model for good)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from domain.errors import BackdatedTooFarError, DateOutOfRangeError, OccurredInFutureError

EXPIRY_YEARS_BACK = 5  # a batch returned or written off years after it expired
EXPIRY_YEARS_AHEAD = 10  # no cosmetic keeps longer
EXPECTED_YEARS_BACK = 1  # a shipment announced late
EXPECTED_YEARS_AHEAD = 2


def require_expiry(expiry: date, today: date) -> None:
    _require_within(expiry, today, EXPIRY_YEARS_BACK, EXPIRY_YEARS_AHEAD, "expiry")


def require_expected_on(expected_on: date, today: date) -> None:
    _require_within(expected_on, today, EXPECTED_YEARS_BACK, EXPECTED_YEARS_AHEAD, "expected_on")


def require_plausible_occurrence(
    occurred_at: datetime, recorded_at: datetime, backdating: timedelta, skew: timedelta
) -> None:
    """`occurred_at` no earlier than `backdating` before the recording and no later than
    `skew` after it (both aware; a caller's value is compared, never shifted)."""
    if occurred_at < recorded_at - backdating:
        raise BackdatedTooFarError(
            f"occurred_at {occurred_at.isoformat()} is more than {_span(backdating)} before "
            f"the ledger's clock ({recorded_at.isoformat()}); this caller may date a command "
            f"back by at most {_span(backdating)}",
            occurred_at=occurred_at.isoformat(),
            earliest=(recorded_at - backdating).isoformat(),
        )
    if occurred_at > recorded_at + skew:
        raise OccurredInFutureError(
            f"occurred_at {occurred_at.isoformat()} is later than the ledger's clock "
            f"({recorded_at.isoformat()}) by more than {_span(skew)}; send when it really "
            "happened",
            occurred_at=occurred_at.isoformat(),
            latest=(recorded_at + skew).isoformat(),
        )


def _require_within(value: date, today: date, back: int, ahead: int, name: str) -> None:
    earliest, latest = _years_from(today, -back), _years_from(today, ahead)
    if not earliest <= value <= latest:
        raise DateOutOfRangeError(
            f"{name} {value.isoformat()} is outside the range a business would use: "
            f"expected a date from {earliest.isoformat()} to {latest.isoformat()}",
            field=name,
            value=value.isoformat(),
            earliest=earliest.isoformat(),
            latest=latest.isoformat(),
        )


def _years_from(today: date, years: int) -> date:
    return today.replace(year=today.year + years, day=min(today.day, 28))


def _span(span: timedelta) -> str:
    if span.days >= 2 and not span.seconds:
        return f"{span.days} days"
    return f"{int(span.total_seconds())} seconds"
