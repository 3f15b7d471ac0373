"""Outages versus poison: a store, sink or broker that cannot be reached is waited for (with
a growing pause, one log line when it goes and one when it comes back), never blamed on the
event that happened to be in flight. Everything else an event raises in a sink is that
event's fault, and the event is set aside (`dead_letters`) so that the rest keeps moving."""

from __future__ import annotations

import logging
import re
import sqlite3
from dataclasses import dataclass

import psycopg

from projections.hot_view_store import HotViewConflictError

OUTAGES: tuple[type[BaseException], ...] = (
    OSError,  # ConnectionError, TimeoutError and the rest of the network and disk
    psycopg.OperationalError,
    sqlite3.OperationalError,  # the embedded store's file is locked
    HotViewConflictError,  # another writer is projecting the same log: try again later
)
# The clients' errors by name: a process that never talks to Redis or ClickHouse (the API on
# PostgreSQL alone, the writer) need not import them only to recognise their errors.
CLIENT_OUTAGES = frozenset(
    {
        "redis.exceptions.ConnectionError",
        "redis.exceptions.TimeoutError",
        "clickhouse_connect.driver.exceptions.OperationalError",
    }
)
CLICKHOUSE_ERROR = "clickhouse_connect.driver.exceptions.ClickHouseError"


class SinkUnavailableError(RuntimeError):
    """A sink refuses even a write of nothing but its position: the sink is broken, not the
    event that showed it, so nothing is set aside."""

    def __init__(self, sink: str, error: BaseException) -> None:
        super().__init__(f"the {sink} refuse any write ({type(error).__name__}: {error})")
        self.sink = sink


class SinksHeldError(RuntimeError):
    """Sinks that could not be reached; the others caught up without them."""

    def __init__(self, held: dict[str, Exception]) -> None:
        first = next(iter(held.values()))
        message = " ".join(str(first).split())
        super().__init__(f"{', '.join(held)} held back: {type(first).__name__}: {message}")
        self.held = held


# ClickHouse errors that say "later", not "never": timeouts, memory, too many parts or queries,
# network and replica troubles (its error codes, which clickhouse-connect puts in the message).
CLICKHOUSE_LATER = frozenset({159, 160, 164, 202, 209, 210, 241, 252, 285, 319, 425, 999})
_CLICKHOUSE_CODE = re.compile(r"Code: (\d+)\.")


def is_outage(error: BaseException) -> bool:
    """A failure to wait out rather than an event to set aside. Kafka clients say themselves
    which of their errors are worth retrying; ClickHouse says it with its error codes."""
    if isinstance(error, (*OUTAGES, SinkUnavailableError, SinksHeldError)):
        return True
    kinds = {f"{kind.__module__}.{kind.__qualname__}" for kind in type(error).__mro__}
    if kinds & CLIENT_OUTAGES:
        return True
    if CLICKHOUSE_ERROR in kinds and (code := _CLICKHOUSE_CODE.search(str(error))):
        return int(code.group(1)) in CLICKHOUSE_LATER
    return bool(getattr(error, "retriable", False))


@dataclass
class Backoff:
    """Pauses that double from `first` up to `cap` while failures go on; logs once when they
    start (with the error) and once when they end, not at every attempt."""

    what: str  # e.g. "projection", "relay"
    log: logging.Logger
    first: float = 0.1
    cap: float = 30.0
    failures: int = 0

    def failed(self, error: BaseException) -> float:
        """Count a failure; returns the seconds to wait before the next attempt."""
        if self.failures == 0:  # a failure that is no outage is a bug: show where, once
            self.log.warning(
                "%s paused: %s: %s; retrying with backoff up to %.0f s",
                self.what,
                type(error).__name__,
                " ".join(str(error).split())[:300],
                self.cap,
                exc_info=None if is_outage(error) else error,
            )
        self.failures += 1
        return min(self.first * 2.0 ** (self.failures - 1), self.cap)

    def succeeded(self) -> None:
        if self.failures:
            self.log.warning("%s resumed after %d failed attempt(s)", self.what, self.failures)
        self.failures = 0
