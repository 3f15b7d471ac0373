"""The embedded outlet of behaviour ingestion: decided rows gathered in memory and written to
chDB by a thread of the API process every GLOW_TRACK_FLUSH_SECONDS (sooner once FLUSH_ROWS
are waiting), as one Arrow insert per table: an insert per request would make chDB a part per
request. A row is queryable at most about one interval plus one insert after its request.

A failed insert keeps its rows and is tried again; past MAX_WAITING_ROWS the ingestion is
refused (503, the caller retries) rather than growing without bound."""

from __future__ import annotations

import logging
import threading
import time

from prometheus_client import Counter, Histogram

from projections.behaviour_rows import TrackedBatch
from projections.behaviour_tables import BehaviourTables

log = logging.getLogger(__name__)

FLUSH_ROWS = 20_000
MAX_WAITING_ROWS = 1_000_000
FLUSHES = Counter(
    "glow_track_flushes", "Inserts of buffered behaviour rows, by outcome", ["outcome"]
)
FLUSH_SECONDS = Histogram(
    "glow_track_flush_seconds",
    "One flush of the behaviour buffer into ClickHouse",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)


class BehaviourBufferFullError(RuntimeError):
    """More behaviour rows wait than the buffer keeps: ClickHouse is not taking them."""

    retry_after_seconds = 1


class BehaviourBuffer:
    def __init__(self, tables: BehaviourTables, flush_seconds: float = 0.15) -> None:
        self.tables = tables
        self.flush_seconds = flush_seconds
        self._pending = TrackedBatch()
        self._lock = threading.Lock()  # the pending rows
        self._writing = threading.Lock()  # one flush at a time
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="behaviour-flusher", daemon=True)
        self.failures = 0

    async def send(self, batch: TrackedBatch) -> None:
        with self._lock:
            if len(self._pending.events) + len(batch.events) > MAX_WAITING_ROWS:
                raise BehaviourBufferFullError(
                    f"{len(self._pending.events)} behaviour rows wait for ClickHouse; "
                    "retry in a second"
                )
            self._pending.extend(batch)
            full = len(self._pending.events) >= FLUSH_ROWS
        if full:
            self._wake.set()

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Write what waits, then stop."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        else:
            self.flush()

    def flush(self) -> bool:
        """Write what waits now, after any write in progress (so that, once it returns, every
        row sent before the call is written); False (the rows kept) if ClickHouse refused."""
        with self._writing:
            return self._flush()

    def _flush(self) -> bool:
        with self._lock:
            taken, self._pending = self._pending, TrackedBatch()
        if not taken:
            return True
        started = time.perf_counter()
        try:
            self.tables.write(taken)
        except Exception as error:
            self.failures += 1
            FLUSHES.labels("failed").inc()
            log.warning(
                "behaviour flush failed, kept for the next: %s: %s", type(error).__name__, error
            )
            with self._lock:
                taken.extend(self._pending)
                self._pending = taken
            return False
        self.failures = 0
        FLUSHES.labels("written").inc()
        FLUSH_SECONDS.observe(time.perf_counter() - started)
        return True

    def waiting(self) -> int:
        with self._lock:
            return len(self._pending.events)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_seconds * (1 + min(self.failures, 20)))
            self._wake.clear()
            self.flush()
        self.flush()
