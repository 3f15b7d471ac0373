"""Outages are waited out with a pause that doubles up to a cap, with one log line when they
start and one when they end; poison is told apart from outages."""

from __future__ import annotations

import logging

import pytest
import redis
from clickhouse_connect.driver.exceptions import DatabaseError

from streams.outages import Backoff, SinksHeldError, SinkUnavailableError, is_outage

log = logging.getLogger("test-outages")


def test_pauses_double_up_to_the_cap_and_start_again_after_a_success() -> None:
    backoff = Backoff("projection", log, first=0.1, cap=1.0)
    assert [backoff.failed(ConnectionError()) for _ in range(6)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    backoff.succeeded()
    assert backoff.failed(ConnectionError()) == 0.1


def test_an_outage_is_logged_once_when_it_starts_and_once_when_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    backoff = Backoff("projection", log)
    with caplog.at_level(logging.WARNING):
        for _ in range(50):
            backoff.failed(redis.ConnectionError("Connection refused"))
        backoff.succeeded()
        backoff.succeeded()
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2
    assert lines[0].startswith("projection paused: ConnectionError: Connection refused")
    assert lines[1] == "projection resumed after 50 failed attempt(s)"
    assert caplog.records[0].exc_info is None  # an outage needs no traceback


def test_a_failure_that_is_no_outage_shows_its_traceback_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    backoff = Backoff("projection", log)
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            backoff.failed(KeyError("batch"))
    assert len(caplog.records) == 1 and caplog.records[0].exc_info is not None


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(),
        TimeoutError(),
        redis.ConnectionError(),
        redis.TimeoutError(),
        SinkUnavailableError("facts", ValueError("no table")),
        SinksHeldError({"hot_views": ConnectionError()}),
    ],
)
def test_unreachable_stores_and_broken_sinks_are_outages(error: Exception) -> None:
    assert is_outage(error)


@pytest.mark.parametrize(
    "error", [ValueError("date out of range"), KeyError("B7"), TypeError(), redis.ResponseError()]
)
def test_what_an_event_makes_a_sink_raise_is_no_outage(error: Exception) -> None:
    assert not is_outage(error)


def test_clickhouse_says_by_its_code_whether_to_wait_or_to_set_aside() -> None:
    too_many_parts = DatabaseError("Code: 252. DB::Exception: Too many parts (300).")
    out_of_range = DatabaseError(
        "Code: 321. DB::Exception: value -719162 is out of the allowed Date range"
    )
    assert is_outage(too_many_parts)
    assert not is_outage(out_of_range)
