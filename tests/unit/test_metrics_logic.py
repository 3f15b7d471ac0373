"""The pure parts of the metrics: the sweeper's oldest lapsed hold, read without touching the
sweeper's heap; the lag collector's arithmetic and its behaviour when the head cannot be
read; GLOW_METRICS_PORT's parsing."""

from __future__ import annotations

import heapq
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, generate_latest
from tests.integration.metrics_scrape import samples, value

from configuration.settings import Settings, SettingsError
from service_layer.reservation_sweeper import ReservationDeadlines
from streams.stream_metrics import LagCollector

NOW = datetime(2030, 6, 1, 12, tzinfo=UTC)
OFFSETS = st.integers(-3600, 3600)  # seconds from NOW


@settings(max_examples=150, deadline=None)
@given(
    open_=st.lists(OFFSETS, max_size=40),
    stale=st.lists(OFFSETS, max_size=40),
    extended=st.lists(st.tuples(st.integers(0, 39), OFFSETS), max_size=10),
)
def test_the_oldest_overdue_hold_is_the_earliest_lapsed_open_deadline(
    open_: list[int], stale: list[int], extended: list[tuple[int, int]]
) -> None:
    deadlines = ReservationDeadlines(None)  # type: ignore[arg-type]  # the log is not read
    ids = [uuid.uuid4() for _ in open_]
    for reservation_id, offset in zip(ids, open_, strict=True):
        expires_at = NOW + timedelta(seconds=offset)
        deadlines._open[reservation_id] = expires_at
        heapq.heappush(deadlines._heap, (expires_at, reservation_id))
    for offset in stale:  # closed reservations whose deadline is still in the heap
        heapq.heappush(deadlines._heap, (NOW + timedelta(seconds=offset), uuid.uuid4()))
    for index, offset in extended:  # extended: the old deadline stays in the heap, stale
        if index < len(ids):
            expires_at = NOW + timedelta(seconds=offset)
            deadlines._open[ids[index]] = expires_at
            heapq.heappush(deadlines._heap, (expires_at, ids[index]))
    heap_before = list(deadlines._heap)
    lapsed = [e for e in deadlines._open.values() if e <= NOW]
    expected = (NOW - min(lapsed)).total_seconds() if lapsed else 0.0
    assert deadlines.oldest_overdue(NOW) == expected
    assert deadlines._heap == heap_before  # read only: the sweeper's thread owns it


def scrape(collector: LagCollector) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    registry = CollectorRegistry()
    registry.register(collector)
    return samples(generate_latest(registry).decode())


def test_lag_is_head_minus_position_and_never_negative() -> None:
    found = scrape(
        LagCollector(
            lambda: 100,
            lambda: {"relay": 40, "hot_views": 100, "facts": 120},
            lambda: {"facts": 2},
        )
    )
    assert value(found, "glow_log_head_position") == 100
    assert value(found, "glow_log_consumer_lag_events", consumer="relay") == 60
    assert value(found, "glow_log_consumer_lag_events", consumer="hot_views") == 0
    assert value(found, "glow_log_consumer_lag_events", consumer="facts") == 0
    assert value(found, "glow_dead_letters", sink="facts") == 2


def test_a_head_that_cannot_be_read_leaves_lag_out_and_the_scrape_standing() -> None:
    def unreachable() -> int:
        raise ConnectionError("the store is away")

    found = scrape(LagCollector(unreachable, lambda: {"relay": 7}, unreachable))  # type: ignore[arg-type]
    assert value(found, "glow_log_consumer_position", consumer="relay") == 7
    assert not {name for name, _ in found} & {"glow_log_head_position", "glow_dead_letters"}
    assert ("glow_log_consumer_lag_events", frozenset({("consumer", "relay")})) not in found


def test_the_metrics_port_is_off_unless_set_and_must_be_a_port() -> None:
    assert Settings.from_env({}).metrics_port is None
    on = Settings.from_env({"GLOW_METRICS_PORT": "9100", "GLOW_METRICS_ADDRESS": "127.0.0.1"})
    assert (on.metrics_port, on.metrics_address) == (9100, "127.0.0.1")
    assert Settings.from_env(on.as_env()) == on
    for wrong in ("0", "65536", "http"):
        with pytest.raises(SettingsError, match="GLOW_METRICS_PORT"):
            Settings.from_env({"GLOW_METRICS_PORT": wrong})
