"""The read side of a running ledger: the read models, and in the embedded mode the
follower that keeps them current. Built from settings by the composition root."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from uuid import UUID

from eventsourcing.application import Application

from configuration.settings import (
    Settings,
    SettingsError,
    ensure_folder,
    eventsourcing_env,
    postgres_conninfo,
    without_password,
)
from configuration.urls import take_query_parameter
from projections.erasure import Forgetting
from projections.hot_view_store import HotViewStore
from projections.memory_views import MemoryHotViews
from recommender.config import recommendations_url
from service_layer.served_models import CHDB, MEMORY, chdb_path, served_analytics, served_hot_views
from streams.dead_letters import (
    DeadLetters,
    MemoryDeadLetters,
    PostgresDeadLetters,
    SqliteDeadLetters,
)
from streams.embedded_driver import FollowedLog, LogFollower, Sinks
from streams.log_reader import LogReader

if TYPE_CHECKING:
    from clickhouse_connect.driver.exceptions import ClickHouseError

    from projections.clickhouse_facts import ClickHouseFacts

log = logging.getLogger(__name__)
# The Redis, ClickHouse and Arrow clients are imported when a read model is configured, not
# by every process that builds a runtime (the API on PostgreSQL alone, its writer).


@dataclass
class ReadSide:
    reader: LogReader
    sinks: Sinks
    follower: LogFollower | None = field(default=None)
    customers: FollowedLog | None = None  # the customer log, projected beside the inventory's

    def start(self) -> None:
        if self.follower is not None:
            self.follower.start()

    def close(self, timeout: float = 10.0) -> None:
        if self.follower is not None:
            self.follower.stop(timeout)
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
    """`memory://`, or `redis://host:port/db` (`rediss://` for TLS, its `ssl_*` options in
    the query: redis-py reads them) with an optional `?namespace=` for the keys."""
    if url.startswith(MEMORY):
        return MemoryHotViews()
    from projections.redis_views import NAMESPACE, RedisHotViews

    client_url, namespace = take_query_parameter(url, "namespace", NAMESPACE)
    return RedisHotViews.from_url(client_url, namespace)


def open_analytics(url: str) -> ClickHouseFacts:
    """The facts at GLOW_ANALYTICS_URL, migrated."""
    from projections.clickhouse_facts import apply_migrations

    facts = reach_analytics(url)
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


def reach_analytics(url: str) -> ClickHouseFacts:
    """The facts at GLOW_ANALYTICS_URL; a SettingsError that says why if they cannot be opened
    (a chDB folder that cannot be made, a path another process holds, no server)."""
    from clickhouse_connect.driver.exceptions import ClickHouseError

    from projections.clickhouse_facts import open_facts

    if url.startswith(CHDB):
        ensure_folder(chdb_path(url), "GLOW_ANALYTICS_URL")
    try:
        return open_facts(url)
    except ClickHouseError as error:
        raise SettingsError(_unopened(url, error)) from None


def _unopened(url: str, error: ClickHouseError) -> str:
    reason = str(error).strip().splitlines()[0][:300]
    if url.startswith(CHDB):
        return (
            f"cannot open the chDB path {chdb_path(url)} (GLOW_ANALYTICS_URL): {reason}. "
            "Only one process can open a chDB path: stop the one that holds it (a worker, "
            "or glow serve without a broker), or point GLOW_ANALYTICS_URL at a ClickHouse "
            "server (http(s)://...)"
        )
    server = without_password(url)
    return f"cannot reach the ClickHouse server at {server} (GLOW_ANALYTICS_URL): {reason}"


def build_read_side(
    settings: Settings, app: Application[UUID], customers: Application[UUID] | None = None
) -> ReadSide | None:
    """Embedded: the read models and the follower that keeps them current (the inventory log,
    and the customer ledger's log `customers` when given). With a broker the Faust workers keep
    them current, and this process only reads them; a chDB path or the in-process store then
    belongs to the worker, so this process leaves that model off."""
    hot_views, analytics = served_hot_views(settings), served_analytics(settings)
    if settings.broker_url is not None:
        for off in (hot_views, analytics):
            if off.url is None:
                log.warning("read model off: %s", off.why_off)
    hot_views_url, analytics_url = hot_views.url, analytics.url
    if hot_views_url is None and analytics_url is None:
        return None
    sinks = Sinks(
        hot_views=open_hot_views(hot_views_url) if hot_views_url else None,
        facts=open_analytics(analytics_url) if analytics_url else None,
        letters=open_dead_letters(settings),
        recommendations=open_recommendations(settings),
    )
    reader = LogReader(app)
    followed = FollowedLog(LogReader(customers), sinks.for_customers()) if customers else None
    follower = None
    if settings.broker_url is None:
        follower = LogFollower(reader, sinks, others=[followed] if followed else [])
    return ReadSide(reader, sinks, follower, followed)


def open_recommendations(settings: Settings) -> Forgetting | None:
    """The published recommendations (Redis), for the erasers; None where none are served."""
    url = recommendations_url(settings)
    if url is None:
        return None
    from recommender.store import RecommendationStore

    return RecommendationStore.from_url(url)
