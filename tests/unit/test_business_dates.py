"""Dates no business would use are refused by the domain, judged against the day a command
happened; occurred_at stays within the caller's backdating bound and the clock skew."""

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from shop import NOW, RED, TODAY, WAREHOUSE, line, open_shop, receive, sell, trace

from domain import commands as c
from domain.dating import require_plausible_occurrence
from domain.errors import BackdatedTooFarError, DateOutOfRangeError, OccurredInFutureError

EARLIEST_EXPIRY, LATEST_EXPIRY = date(2020, 3, 1), date(2035, 3, 1)  # NOW is 2025-03-01
WEEK, SKEW = timedelta(days=7), timedelta(minutes=5)


@given(expiry=st.dates())
def test_a_batch_is_received_only_with_an_expiry_in_the_business_range(expiry: date) -> None:
    uow = open_shop()
    if EARLIEST_EXPIRY <= expiry <= LATEST_EXPIRY:
        uow.run(receive(expiry=expiry))
        assert uow.event_types() == ["Stock.Opened", "Stock.BatchReceived"]
    else:
        with pytest.raises(DateOutOfRangeError, match=expiry.isoformat()):
            uow.run(receive(expiry=expiry))
        assert uow.last_events == []


@given(expiry=st.dates().filter(lambda d: not EARLIEST_EXPIRY <= d <= LATEST_EXPIRY))
def test_a_return_with_an_expiry_out_of_range_is_refused(
    expiry: date,
) -> None:
    uow = open_shop()
    unlinked = c.AcceptReturn(RED, WAREHOUSE, "NEW", expiry, 1, True, trace(reason="found"))
    with pytest.raises(DateOutOfRangeError, match="expected a date from 2020-03-01"):
        uow.run(unlinked)


@given(expected_on=st.dates())
def test_a_shipment_is_expected_within_a_year_back_and_two_ahead(expected_on: date) -> None:
    uow = open_shop()
    command = c.ExpectShipment(RED, WAREHOUSE, "PO-1", 5, expected_on, trace())
    if date(2024, 3, 1) <= expected_on <= date(2027, 3, 1):
        uow.run(command)
    else:
        with pytest.raises(DateOutOfRangeError):
            uow.run(command)


@given(offset=st.timedeltas(min_value=timedelta(days=-3650), max_value=timedelta(days=3650)))
def test_occurred_at_is_taken_only_between_the_backdating_bound_and_the_skew(
    offset: timedelta,
) -> None:
    occurred = NOW + offset
    if offset < -WEEK:
        with pytest.raises(BackdatedTooFarError, match="at most 7 days"):
            require_plausible_occurrence(occurred, NOW, WEEK, SKEW)
    elif offset > SKEW:
        with pytest.raises(OccurredInFutureError):
            require_plausible_occurrence(occurred, NOW, WEEK, SKEW)
    else:
        require_plausible_occurrence(occurred, NOW, WEEK, SKEW)


def test_the_extremes_of_the_calendar_are_refused_without_overflowing() -> None:
    for extreme in (datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)):
        with pytest.raises((BackdatedTooFarError, OccurredInFutureError)):
            require_plausible_occurrence(extreme, NOW, WEEK, SKEW)


def test_a_sale_that_happened_before_its_batch_expired_is_taken_within_the_bound() -> None:
    """A till offline for days sold units of a batch that has expired since."""
    uow = open_shop()
    uow.run(receive(expiry=TODAY - timedelta(days=2), at=NOW - timedelta(days=5)))
    uow.run(sell(line(1), at=NOW - timedelta(days=3)))
    assert uow.event_types() == ["Stock.Sold"]
