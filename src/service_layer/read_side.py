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
from service_layer.settings import Settings
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

    def head(self) -> int:
        return self.reader.head()


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


def build_read_side(settings: Settings, app: Application[UUID]) -> ReadSide | None:
    if settings.hot_views_url is None and settings.analytics_url is None:
        return None
    sinks = Sinks(
        hot_views=open_hot_views(settings.hot_views_url) if settings.hot_views_url else None,
        facts=open_analytics(settings.analytics_url) if settings.analytics_url else None,
    )
    reader = LogReader(app)
    return ReadSide(reader, sinks, LogFollower(reader, sinks))
