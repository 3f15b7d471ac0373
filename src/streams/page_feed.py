"""A rebuild's pages read, decoded and prepared in forked processes, delivered in log order.

Decoding events and computing fact rows is Python work that one process cannot overlap with
anything; a rebuild writes into stores nobody else reads yet, so it can spread that work over
the machine's cores. The log up to the head is cut into id ranges, reader k takes ranges
k, k + n, k + 2n, ... with a connection of its own, and hands back each page prepared for the
sinks: the envelopes for the hot views (their fold needs the documents so far, so it stays in
the one process that applies pages), and the fact rows already projected and encoded as Arrow
columns. The applying process takes pages strictly in order and records each page's position
after its rows, as the single-process pass does, so a crash or a rerun behaves the same.
Linux only (fork: a reader starts in milliseconds with everything already imported), and only
for a store that reads its log as stored rows (PostgreSQL).
"""

from __future__ import annotations

import marshal
import multiprocessing
import os
import queue
import sys
import threading
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection

from audit.bulk_reading import collector_paused
from projections.clickhouse_facts import encode_rows
from projections.columnar_insert import RowEncoder
from projections.facts import batch_rows
from projections.hot_view_store import apply_batch
from streams.embedded_driver import CONSUMER, Sinks
from streams.envelope import Envelope
from streams.log_reader import LogReader
from streams.stored_envelopes import StoredRowSource

FEED_PAGE = 4_000  # small enough to keep every reader busy to the end, large enough per insert
MIN_EVENTS = 10_000  # below this, starting readers costs more than it saves
MAX_READERS = 4  # the applying process keeps up with about this many
FEED_BATCH = 10_000  # positions applied as one write: the first writes overlap the reading


@dataclass(frozen=True)
class Preparation:
    """What a page becomes in a reader: envelopes for the hot views, encoded facts."""

    hot_views: bool
    facts: RowEncoder | None

    @classmethod
    def for_sinks(cls, sinks: Sinks, facts: RowEncoder | None = None) -> Preparation:
        encoder = facts or (sinks.facts.encoder() if sinks.facts is not None else None)
        return cls(sinks.hot_views is not None, encoder)

    def prepare(self, reader: LogReader, after: int, stop: int) -> bytes:
        envelopes = reader.read(after, stop - after, stop).envelopes
        hot = [e.fields() for e in envelopes] if self.hot_views else None
        facts = encode_rows(self.facts, batch_rows(envelopes)) if self.facts else None
        return marshal.dumps((stop, len(envelopes), hot, facts))


def apply_prepared(sinks: Sinks, pages: list[bytes]) -> tuple[int, int]:
    """Apply consecutive prepared pages to the sinks as one batch; returns the last position
    and the number of events."""
    loaded = [marshal.loads(page) for page in pages]  # noqa: S302 - our own readers' pages
    last_position, events = loaded[-1][0], sum(page[1] for page in loaded)
    if sinks.hot_views is not None:
        envelopes = [Envelope.trusted(*fields) for page in loaded for fields in page[2]]
        apply_batch(sinks.hot_views, envelopes, CONSUMER, last_position)
    if sinks.facts is not None:
        sinks.facts.write_encoded([page[3] for page in loaded], CONSUMER, last_position)
    return last_position, events


def page_ranges(after: int, head: int, readers: int, page: int) -> list[tuple[int, int]]:
    """(after, stop] ranges covering (after, head], a multiple of `readers` of them."""
    total = head - after
    count = max(readers, -(-total // page))
    count += -count % readers
    bounds = [after + total * i // count for i in range(count + 1)]
    return [(bounds[i], bounds[i + 1]) for i in range(count) if bounds[i + 1] > bounds[i]]


class PageFeed:
    """Prepared pages of (after, head], in order, from forked reader processes."""

    def __init__(
        self, reader: LogReader, preparation: Preparation, after: int, head: int, readers: int
    ) -> None:
        self.after, self.head = after, head
        self._ranges = page_ranges(after, head, readers, FEED_PAGE)
        context = multiprocessing.get_context("fork")
        self._pipes: list[Connection] = []
        self._processes = []
        for k in range(readers):
            receiving, sending = context.Pipe(duplex=False)
            process = context.Process(
                target=_read_pages,
                args=(reader, preparation, self._ranges[k::readers], sending),
                name=f"rebuild-reader-{k}",
                daemon=True,
            )
            process.start()
            sending.close()
            self._pipes.append(receiving)
            self._processes.append(process)
        self._pages: queue.Queue[bytes | BaseException] = queue.Queue()
        self._receiver = threading.Thread(target=self._receive, name="rebuild-feed", daemon=True)
        self._receiver.start()

    @classmethod
    def open(
        cls,
        reader: LogReader,
        preparation: Preparation,
        after: int,
        readers: int | None = None,
        min_events: int | None = None,
    ) -> PageFeed | None:
        """A feed from `after` to the head, or None where it cannot help (another platform, a
        store without stored rows, a log shorter than `min_events`, default MIN_EVENTS).
        `readers`: processes, by default one per core on a machine of several; 0: no feed."""
        if readers is None:
            cores = os.cpu_count() or 1
            readers = min(cores, MAX_READERS) if cores > 1 else 0
        head = reader.head()
        suitable = (
            readers > 0
            and sys.platform == "linux"
            and isinstance(reader.app.recorder, StoredRowSource)
            and head - after >= max(MIN_EVENTS if min_events is None else min_events, 1)
        )
        return cls(reader, preparation, after, head, readers) if suitable else None

    def __iter__(self) -> Iterator[list[bytes]]:
        """The pages in order, in groups that span FEED_BATCH positions (the last one less):
        ClickHouse makes a part per insert, ~5 ms of its time however small, so a group is
        applied as one write."""
        group: list[bytes] = []
        spanned = 0
        for after, stop in self._ranges:
            page = self._pages.get()
            if isinstance(page, BaseException):
                raise page
            group.append(page)
            spanned += stop - after
            if spanned >= FEED_BATCH:
                yield group
                group, spanned = [], 0
        if group:
            yield group

    def close(self) -> None:
        """Stop the readers (finished, or not when the applying side failed)."""
        for process in self._processes:
            if process.is_alive():
                process.terminate()
        for process in self._processes:
            process.join(10)
        while self._receiver.is_alive():  # it ends at the readers' end of file
            try:
                self._pages.get_nowait()
            except queue.Empty:
                self._receiver.join(0.01)
        for pipe in self._pipes:
            pipe.close()

    def _receive(self) -> None:
        try:
            for i in range(len(self._ranges)):
                page = self._pipes[i % len(self._pipes)].recv_bytes()
                if page[:1] == b"!":
                    raise RuntimeError("a rebuild reader failed:\n" + page[1:].decode())
                self._pages.put(page)
        except (EOFError, OSError, RuntimeError) as error:
            self._pages.put(error)


def _read_pages(
    reader: LogReader, preparation: Preparation, ranges: list[tuple[int, int]], pipe: Connection
) -> None:
    """A reader process: its own connections (the parent's pooled ones stay the parent's).
    A failure goes to the applying process as text after a `!` (no marshal data starts so)."""
    own = None
    try:
        own = reader.reopened()
        with collector_paused():
            for after, stop in ranges:
                pipe.send_bytes(preparation.prepare(own, after, stop))
    except Exception:  # told to the applying process, which raises it
        pipe.send_bytes(b"!" + traceback.format_exc().encode())
    finally:
        if own is not None:
            own.app.close()
        pipe.close()
