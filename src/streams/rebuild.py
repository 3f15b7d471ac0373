"""`glow rebuild <model>`: replay the whole log into a fresh copy of a read model, with a
progress bar, then swap the copy in for the live one. An event the copy cannot take is set
aside, never the end of the rebuild; once swapped in, the copy's letters are the model's."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from projections.clickhouse_facts import ClickHouseFacts
from projections.redis_views import RedisHotViews
from streams.dead_letters import DeadLetters, MemoryDeadLetters
from streams.embedded_driver import CONSUMER, FACTS, HOT_VIEWS, Sinks
from streams.embedded_driver import Progress as Advance
from streams.log_reader import LogReader
from streams.replay import REBUILD_CHUNK, replay, replay_facts
from streams.stream_metrics import REBUILD_POSITION, REBUILD_TARGET

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rebuilt:
    model: str
    events: int
    position: int
    seconds: float


def rebuild_hot_views(
    reader: LogReader,
    live: RedisHotViews,
    *,
    show: bool = True,
    letters: DeadLetters | None = None,
    customers: LogReader | None = None,
) -> Rebuilt:
    """`customers`, the customer log, is replayed first: its documents come back, and the
    tombstones of forgotten customers keep the order view from listing them again while the
    inventory log is replayed (projections/forgotten_guard.py)."""
    fresh = live.new_generation()
    found = MemoryDeadLetters()  # this build's letters, which replace the live ones at the swap
    sinks = Sinks(hot_views=fresh, letters=found)

    def run(progress: Advance) -> tuple[int, int]:
        if customers is not None:
            replay(customers, sinks.for_customers(), page=REBUILD_CHUNK)
        # Applied chunk by chunk: a Redis write costs little, and overlaps the next decoding.
        events = replay(reader, sinks, page=REBUILD_CHUNK, progress=progress)
        return events, fresh.position(CONSUMER)

    try:
        result = _replay("hot-views", reader, show, run)
    except BaseException:  # interrupted or failed: the live views stay, the half-built go
        live.discard(fresh)
        raise
    live.swap_in(fresh)
    _settle(letters, HOT_VIEWS, found, result.position)
    return result


def rebuild_facts(
    reader: LogReader,
    live: ClickHouseFacts,
    *,
    show: bool = True,
    letters: DeadLetters | None = None,
) -> Rebuilt:
    found = MemoryDeadLetters()
    with ThreadPoolExecutor(1, thread_name_prefix="rebuild-shadow") as making:
        made = making.submit(live.shadow)  # its DDL (~40 ms) overlaps reading the first page

        def run(progress: Advance) -> tuple[int, int]:
            encoder = live.encoder()  # the shadow's tables have the live ones' columns
            events = replay_facts(
                reader, made.result, encoder, after=0, progress=progress, letters=found
            )
            return events, made.result().position(CONSUMER)

        try:
            result = _replay("facts", reader, show, run)
        except BaseException:  # interrupted or failed: the live tables stay, the shadow goes
            if made.exception() is None:
                live.discard(made.result())
            raise
        finally:
            if made.exception() is None:
                made.result().close()
    live.swap_in(made.result())
    _settle(letters, FACTS, found, result.position)
    return result


def _settle(letters: DeadLetters | None, sink: str, found: DeadLetters, position: int) -> None:
    """The rebuilt model holds every event up to `position` but those it set aside: they
    replace the live model's letters up to there (a letter of an event the rebuild could
    apply, after a fix, is gone)."""
    if letters is None:
        for letter in found.listed():
            log.warning("rebuild: %s set aside %s: %s", sink, letter.event_id, letter.message)
        return
    kept = {letter.position for letter in found.listed(sink)}
    for letter in letters.listed(sink):
        if letter.position <= position and letter.position not in kept:
            letters.remove(sink, letter.position)
    for letter in found.listed(sink):
        if letter.position not in {v.position for v in letters.listed(sink)}:
            letters.record(letter)


def _replay(
    model: str, reader: LogReader, show: bool, run: Callable[[Advance], tuple[int, int]]
) -> Rebuilt:
    """`run(progress)` replays the log into the fresh model: (events, its position)."""
    head = reader.head()
    started = time.perf_counter()
    replayed, target = REBUILD_POSITION.labels(model), REBUILD_TARGET.labels(model)
    replayed.set(0)
    target.set(head)
    columns = (
        TextColumn(f"rebuilding {model}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} events/s"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, disable=not show, transient=False) as bar:
        task = bar.add_task(model, total=head, rate="-")

        def advance(position: int) -> None:
            elapsed = max(time.perf_counter() - started, 1e-9)
            bar.update(task, completed=min(position, head), rate=f"{position / elapsed:,.0f}")
            replayed.set(position)

        events, position = run(advance)
    seconds = time.perf_counter() - started
    return Rebuilt(model, events, position, seconds)
