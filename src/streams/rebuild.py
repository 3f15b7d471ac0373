"""`glow rebuild <model>`: replay the whole log into a fresh copy of a read model, with a
progress bar, then swap the copy in for the live one."""

from __future__ import annotations

import time
from dataclasses import dataclass

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from projections.clickhouse_facts import ClickHouseFacts
from projections.redis_views import RedisHotViews
from streams.embedded_driver import Sinks
from streams.log_reader import LogReader
from streams.replay import replay, replay_facts

MODELS = ("hot-views", "facts")


@dataclass(frozen=True)
class Rebuilt:
    model: str
    events: int
    position: int
    seconds: float


def rebuild_hot_views(reader: LogReader, live: RedisHotViews, *, show: bool = True) -> Rebuilt:
    fresh = live.new_generation()
    try:
        result = _replay("hot-views", reader, Sinks(hot_views=fresh), show)
    except BaseException:  # interrupted or failed: the live views stay, the half-built go
        live.discard(fresh)
        raise
    live.swap_in(fresh)
    return result


def rebuild_facts(reader: LogReader, live: ClickHouseFacts, *, show: bool = True) -> Rebuilt:
    shadow = live.shadow()
    try:
        result = _replay("facts", reader, Sinks(facts=shadow), show)
    except BaseException:  # interrupted or failed: the live tables stay, the shadow goes
        live.discard(shadow)
        raise
    finally:
        shadow.close()
    live.swap_in(shadow)
    return result


def _replay(model: str, reader: LogReader, sinks: Sinks, show: bool) -> Rebuilt:
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

        if sinks.facts is not None and sinks.hot_views is None:
            events = replay_facts(reader, sinks.facts, progress=advance)
        else:
            events = replay(reader, sinks, progress=advance)
    seconds = time.perf_counter() - started
    return Rebuilt(model, events, max(sinks.positions().values(), default=0), seconds)
