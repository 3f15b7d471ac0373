"""`glow rebuild <model>`: replay the whole log into a fresh copy of a read model, with a
progress bar, then swap the copy in for the live one."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from projections.clickhouse_facts import ClickHouseFacts
from projections.redis_views import RedisHotViews
from streams.embedded_driver import CONSUMER, Sinks
from streams.embedded_driver import Progress as Advance
from streams.log_reader import LogReader
from streams.replay import REBUILD_CHUNK, replay, replay_facts

MODELS = ("hot-views", "facts")


@dataclass(frozen=True)
class Rebuilt:
    model: str
    events: int
    position: int
    seconds: float


def rebuild_hot_views(reader: LogReader, live: RedisHotViews, *, show: bool = True) -> Rebuilt:
    fresh = live.new_generation()
    sinks = Sinks(hot_views=fresh)

    def run(progress: Advance) -> tuple[int, int]:
        # Applied chunk by chunk: a Redis write costs little, and overlaps the next decoding.
        events = replay(reader, sinks, page=REBUILD_CHUNK, progress=progress)
        return events, fresh.position(CONSUMER)

    try:
        result = _replay("hot-views", reader, show, run)
    except BaseException:  # interrupted or failed: the live views stay, the half-built go
        live.discard(fresh)
        raise
    live.swap_in(fresh)
    return result


def rebuild_facts(reader: LogReader, live: ClickHouseFacts, *, show: bool = True) -> Rebuilt:
    with ThreadPoolExecutor(1, thread_name_prefix="rebuild-shadow") as making:
        made = making.submit(live.shadow)  # its DDL (~40 ms) overlaps reading the first page

        def run(progress: Advance) -> tuple[int, int]:
            encoder = live.encoder()  # the shadow's tables have the live ones' columns
            events = replay_facts(reader, made.result, encoder, after=0, progress=progress)
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
    return result


def _replay(
    model: str, reader: LogReader, show: bool, run: Callable[[Advance], tuple[int, int]]
) -> Rebuilt:
    """`run(progress)` replays the log into the fresh model: (events, its position)."""
    head = reader.head()
    started = time.perf_counter()
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

        events, position = run(advance)
    seconds = time.perf_counter() - started
    return Rebuilt(model, events, position, seconds)
