"""The embedded driver: follows the event store in-process and runs the projectors.

Each sink keeps its own position, stored with its update (in the same Lua script in Redis,
after the rows in ClickHouse), and the follower reads it back before every page, so a restart,
a crash or a rebuild swapped in carries on from what the sink really holds. Polling, since
SQLite has no subscription; on PostgreSQL a page is as cheap as one indexed range scan."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from audit.bulk_reading import collector_paused
from projections.clickhouse_facts import ClickHouseFacts
from projections.facts import batch_rows
from projections.hot_view_store import HotViewStore, apply_batch
from streams.envelope import Envelope
from streams.log_reader import LogReader

log = logging.getLogger(__name__)

CONSUMER = "projector"
Progress = Callable[[int], None]


@dataclass
class Sinks:
    hot_views: HotViewStore | None = None
    facts: ClickHouseFacts | None = None

    def positions(self) -> dict[str, int]:
        found = {}
        if self.hot_views is not None:
            found["hot_views"] = self.hot_views.position(CONSUMER)
        if self.facts is not None:
            found["facts"] = self.facts.position(CONSUMER)
        return found

    def apply(
        self, envelopes: list[Envelope], last_position: int, positions: dict[str, int] | None = None
    ) -> None:
        """Apply a page to each sink that has not got it yet (`positions`, if known, saves
        asking each sink again)."""
        positions = self.positions() if positions is None else positions
        if self.hot_views is not None and positions["hot_views"] < last_position:
            fresh = [e for e in envelopes if e.position > positions["hot_views"]]
            apply_batch(self.hot_views, fresh, CONSUMER, last_position)
        if self.facts is not None and positions["facts"] < last_position:
            fresh = [e for e in envelopes if e.position > positions["facts"]]
            self.facts.write(batch_rows(fresh), CONSUMER, last_position)


def catch_up(
    reader: LogReader, sinks: Sinks, page: int = 2000, progress: Progress | None = None
) -> int:
    """Project every event after the sinks' positions up to the head; returns events read."""
    read = 0
    while True:
        positions = sinks.positions()
        after = min(positions.values(), default=0)
        with collector_paused():  # a page allocates thousands of acyclic objects
            batch = reader.read(after, page)
            if batch.last_position == after:
                return read
            sinks.apply(batch.envelopes, batch.last_position, positions)
        read += len(batch.envelopes)
        if progress is not None:
            progress(batch.last_position)


class LogFollower:
    def __init__(self, reader: LogReader, sinks: Sinks, poll_seconds: float = 0.02) -> None:
        self.reader = reader
        self.sinks = sinks
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="projection-follower", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                catch_up(self.reader, self.sinks)
            except Exception:
                log.exception("projection failed; retrying from the stored positions")
            self._stop.wait(self.poll_seconds)
