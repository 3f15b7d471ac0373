"""An iterator run a bounded number of items ahead in a thread of its own."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from streams.read_ahead import read_ahead


def test_the_items_come_in_order_from_another_thread() -> None:
    threads: set[str] = set()

    def items() -> Iterator[int]:
        for n in range(100):
            threads.add(threading.current_thread().name)
            yield n

    assert list(read_ahead(items(), "ahead-test", depth=3)) == list(range(100))
    assert threads == {"ahead-test"}


def test_a_failure_in_the_producer_reaches_the_consumer_after_what_came_before() -> None:
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise ConnectionError("the store went away")

    got = []
    with pytest.raises(ConnectionError, match="went away"):
        for item in read_ahead(items(), "ahead-test"):
            got.append(item)
    assert got == [1, 2]


def test_a_consumer_that_stops_early_stops_and_closes_the_producer() -> None:
    closed_in: list[str] = []
    produced = []

    def items() -> Iterator[int]:
        try:
            for n in range(1_000_000):
                produced.append(n)
                yield n
        finally:  # a cursor would be closed here
            closed_in.append(threading.current_thread().name)

    ahead = read_ahead(items(), "ahead-test", depth=1)
    assert [next(ahead) for _ in range(3)] == [0, 1, 2]
    ahead.close()  # the consumer is done
    assert closed_in == ["ahead-test"]  # cleaned up, in the producer's own thread
    assert len(produced) <= 3 + 2  # at most depth + one in hand ahead of the consumer
    assert not [t for t in threading.enumerate() if t.name == "ahead-test"]


def test_a_consumer_that_fails_stops_the_producer_too() -> None:
    def endless() -> Iterator[int]:
        n = 0
        while True:
            yield n
            n += 1

    with pytest.raises(RuntimeError, match="consumer"):
        for item in read_ahead(endless(), "ahead-test"):
            if item == 5:
                raise RuntimeError("the consumer failed")
    assert not [t for t in threading.enumerate() if t.name == "ahead-test"]
