"""The read side of a running ledger: the read models, and in the embedded mode the
follower that keeps them current. Built from settings by the composition root."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

from eventsourcing.application import Application

from projections.clickhouse_facts import ClickHouseFacts, apply_migrations, open_facts
from projections.hot_view_store import HotViewStore
from projections.memory_views import MemoryHotViews
from projections.redis_views import NAMESPACE, RedisHotViews
from service_layer.settings import Settings, eventsourcing_env, postgres_conninfo
from streams.dead_letters import (
    DeadLetters,
    MemoryDeadLetters,
    PostgresDeadLetters,
    SqliteDeadLetters,
)
from streams.embedded_driver import LogFollower, Sinks
from streams.log_reader import LogReader


@dataclass
class ReadSide:
    reader: LogReader
    sinks: Sinks
    follower: LogFollower | None = field(default=None)

    def start(self) -> None:
        if self.follower is not None:
            self.follower.start()

    def close(self) -> None:
        if self.follower is not None:
            self.follower.stop()
        if self.sinks.facts is not None:
            self.sinks.facts.close()
        if self.sinks.letters is not None:
            self.sinks.letters.close()

    def head(self) -> int:
        return self.reader.head()

    def dead_letters(self) -> dict[str, int]:
        """Events set aside, per sink: every sink of this read side, and any other sink
        (the relay's) that has some."""
        counts = dict.fromkeys((sink.name for sink in self.sinks.each()), 0)
        if self.sinks.letters is not None:
            counts.update(self.sinks.letters.counts())
        return counts

    def projecting(self) -> dict[str, object]:
        """What /health shows of the read side: letters per sink, and whether the follower
        is waiting for a sink or the store to come back."""
        failures = self.follower.backoff.failures if self.follower is not None else 0
        return {"dead_letters": self.dead_letters(), "retrying": failures > 0}


def open_hot_views(url: str) -> HotViewStore:
    """`memory://`, or `redis://host:port/db` with an optional `?namespace=` for the keys."""
    if url.startswith("memory:"):
        return MemoryHotViews()
    parts = urlsplit(url)
    namespace = parse_qs(parts.query).get("namespace", [NAMESPACE])[0]
    return RedisHotViews.from_url(parts._replace(query="").geturl(), namespace)


def open_analytics(url: str) -> ClickHouseFacts:
    facts = open_facts(url)
    apply_migrations(facts.client)
    return facts


def open_dead_letters(settings: Settings) -> DeadLetters:
    """Beside the event store: its PostgreSQL database, or its SQLite file."""
    if settings.is_postgres():
        return PostgresDeadLetters(postgres_conninfo(settings.event_store_url))
    path = eventsourcing_env(settings.event_store_url)["SQLITE_DBNAME"]
    if ":memory:" in path or "mode=memory" in path:
        return MemoryDeadLetters()
    return SqliteDeadLetters(path)


def build_read_side(settings: Settings, app: Application[UUID]) -> ReadSide | None:
    """Embedded: the read models and the follower that keeps them current. With a broker the
    Faust workers keep them current, and this process only reads them; a chDB path then
    belongs to the worker that writes it, so analyst routes need a ClickHouse server."""
    analytics_url = settings.analytics_url
    if settings.broker_url is not None and analytics_url and analytics_url.startswith("chdb:"):
        analytics_url = None
    if settings.hot_views_url is None and analytics_url is None:
        return None
    sinks = Sinks(
        hot_views=open_hot_views(settings.hot_views_url) if settings.hot_views_url else None,
        facts=open_analytics(analytics_url) if analytics_url else None,
        letters=open_dead_letters(settings),
    )
    reader = LogReader(app)
    follower = LogFollower(reader, sinks) if settings.broker_url is None else None
    return ReadSide(reader, sinks, follower)
