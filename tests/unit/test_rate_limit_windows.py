"""The in-process fixed windows of the rate limits (api/rate_limits.py `InProcessCounts`),
against a clock the test moves: a window opens with its first charge, adds up what is
charged in it, resets when it ends; peeking charges nothing; pruning keeps live windows."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.rate_limits import InProcessCounts


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_a_window_adds_up_its_charges_and_resets_when_it_ends(clock: Clock) -> None:
    counts = InProcessCounts(clock=clock)

    async def scenario() -> None:
        assert await counts.peek("k") == (0, clock.now)
        assert await counts.charge("k", 10, 1) == (1, clock.now + 10)
        opened = clock.now
        clock.now += 9.5
        assert await counts.charge("k", 10, 3) == (4, opened + 10)
        assert await counts.peek("k") == (4, opened + 10)
        assert await counts.peek("other") == (0, clock.now)
        clock.now = opened + 10  # the window ended: the next charge opens another
        assert await counts.peek("k") == (0, clock.now)
        assert await counts.charge("k", 10, 2) == (2, clock.now + 10)

    asyncio.run(scenario())


def test_pruning_drops_only_ended_windows(clock: Clock) -> None:
    counts = InProcessCounts(kept=3, clock=clock)

    async def scenario() -> None:
        await counts.charge("short", 1, 1)
        await counts.charge("long", 60, 5)
        await counts.charge("other", 60, 1)
        clock.now += 2  # "short" ended
        await counts.charge("new", 60, 1)  # the fourth window: the ended ones go
        assert await counts.peek("long") == (5, clock.now - 2 + 60)
        assert await counts.peek("short") == (0, clock.now)
        assert await counts.charge("long", 60, 1) == (6, clock.now - 2 + 60)

    asyncio.run(scenario())


@given(st.lists(st.tuples(st.integers(1, 5), st.floats(0, 3)), max_size=40))
def test_what_a_window_holds_is_what_was_charged_since_it_opened(
    steps: list[tuple[int, float]],
) -> None:
    clock = Clock()
    counts = InProcessCounts(clock=clock)
    opened: float | None = None
    expected = 0

    async def scenario() -> None:
        nonlocal opened, expected
        for cost, pause in steps:
            clock.now += pause
            if opened is None or clock.now >= opened + 5:
                opened, expected = clock.now, 0
            expected += cost
            assert await counts.charge("k", 5, cost) == (expected, opened + 5)

    asyncio.run(scenario())
