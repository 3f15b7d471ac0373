"""Running an iterator in a thread of its own, a bounded number of items ahead of its
consumer: stages that wait on a store or run outside the interpreter lock overlap."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")

_POLL = 0.05  # how often a blocked producer looks whether its consumer has gone


def read_ahead(items: Iterator[T], name: str, depth: int = 1) -> Iterator[T]:
    """The items of `items`, produced in a thread named `name` up to `depth` ahead. An
    exception in the producer is raised to the consumer; a consumer that stops early (or
    fails) stops the producer at its next item, and waits for it to end."""
    handoff: queue.Queue[tuple[bool, T | BaseException | None]] = queue.Queue(depth)
    gone = threading.Event()

    def put(done: bool, value: T | BaseException | None) -> bool:
        while not gone.is_set():
            try:
                handoff.put((done, value), timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(False, item):
                    return
            put(True, None)
        except BaseException as error:
            put(True, error)
        finally:  # a generator's cleanup (a cursor, a transaction) runs in its own thread
            close = getattr(items, "close", None)
            if close is not None:
                close()

    producer = threading.Thread(target=produce, name=name, daemon=True)
    producer.start()
    try:
        while True:
            done, value = handoff.get()
            if done:
                if isinstance(value, BaseException):
                    raise value
                return
            yield value  # type: ignore[misc]
    finally:
        gone.set()
        producer.join()
