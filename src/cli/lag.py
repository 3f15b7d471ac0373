"""`glow lag`: how far each consumer of the log is behind. The relay's position and the
workers' watermarks (PostgreSQL) against the log's head (those named `...:customer` against
the customer log's); the worker group's committed offsets
against the topics' end offsets (the broker); the hot views' position (Redis) against the head;
the events each sink set aside (dead letters).
A chDB path is owned by the worker that writes it: its position is the worker's watermark."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass

import psycopg
from aiokafka import AIOKafkaConsumer, TopicPartition  # type: ignore[import-untyped]
from aiokafka.errors import KafkaError  # type: ignore[import-untyped]

from configuration.settings import Settings, postgres_conninfo
from events.published import CUSTOMER_TOPIC
from streams.dead_letters import PostgresDeadLetters
from streams.embedded_driver import CONSUMER, FACTS, HOT_VIEWS
from streams.faust_app import PROJECTED_TOPICS, group_id
from streams.positions import RELAY, PositionBook, in_customer_log

SINKS = (HOT_VIEWS, FACTS, RELAY)


@dataclass(frozen=True)
class Lag:
    consumer: str
    position: int
    target: int
    unit: str = "events"

    @property
    def behind(self) -> int:
        return max(self.target - self.position, 0)


def log_head(conninfo: str, table: str = "inventory_events") -> int:
    """The head of the inventory log, or of the customer log (`customers_events`)."""
    with psycopg.connect(conninfo) as conn:
        row = conn.execute(f"SELECT max(notification_id) FROM {table}").fetchone()  # noqa: S608
    return int(row[0] or 0) if row else 0


async def group_lag(bootstrap_servers: str, prefix: str) -> list[Lag]:
    """Committed offsets of the worker group against the end offsets, per topic."""
    # A consumer in the group that never joins it: committed() only fetches the offsets.
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, group_id=group_id(prefix), enable_auto_commit=False
    )
    try:
        await consumer.start()  # a broker that does not answer: stopped all the same
        lags = []
        await consumer.topics()  # fresh metadata
        for name in (*PROJECTED_TOPICS, CUSTOMER_TOPIC):
            topic = prefix + name
            partitions = consumer.partitions_for_topic(topic) or set()
            tps = [TopicPartition(topic, p) for p in sorted(partitions)]
            ends = await consumer.end_offsets(tps) if tps else {}
            done = 0
            for tp in tps:
                done += max(await consumer.committed(tp) or 0, 0)
            lags.append(
                Lag(f"group {group_id(prefix)} on {topic}", done, sum(ends.values()), "messages")
            )
        return lags
    finally:
        await consumer.stop()


class BrokerUnansweredError(Exception):
    """The broker could not be asked (down, starting, or its group coordinator moving)."""


def measure(settings: Settings) -> list[Lag]:
    conninfo = postgres_conninfo(settings.event_store_url)
    head, customer_head = log_head(conninfo), log_head(conninfo, "customers_events")
    book = PositionBook(conninfo)
    try:
        lags = [
            Lag(name, position, customer_head if in_customer_log(name) else head)
            for name, position in sorted(book.all().items())
        ]
    finally:
        book.close()
    if settings.broker_url is not None:
        servers = settings.bootstrap_servers()
        try:
            lags.extend(asyncio.run(group_lag(servers, settings.topic_prefix)))
        except (KafkaError, OSError, TimeoutError) as error:
            raise BrokerUnansweredError(
                f"the broker at {servers} did not tell the worker group's offsets "
                f"({type(error).__name__}: {error}); try again once it is up"
            ) from error
    url = settings.hot_views_url
    if url is not None and url.startswith(("redis://", "rediss://", "unix://")):
        from service_layer.read_side import open_hot_views

        lags.append(Lag("hot views (redis)", open_hot_views(url).position(CONSUMER), head))
    url = settings.analytics_url
    if url is not None and url.startswith(("http://", "https://")):
        from projections.clickhouse_facts import open_facts

        facts = open_facts(url)
        try:
            lags.append(Lag("facts (clickhouse)", facts.position(CONSUMER), head))
        finally:
            facts.close()
    return lags


def dead_letters(conninfo: str) -> dict[str, int]:
    """Events set aside per sink (hot_views, facts, relay), every sink named."""
    letters = PostgresDeadLetters(conninfo)
    try:
        return {**dict.fromkeys(SINKS, 0), **letters.counts()}
    finally:
        letters.close()


def print_lag(settings: Settings) -> int:
    if not settings.is_postgres():
        print("glow: lag follows a PostgreSQL event store (--store postgresql://...)")
        return 2
    try:
        lags = measure(settings)
    except BrokerUnansweredError as error:
        print(f"glow: {error}", file=sys.stderr)
        return 1
    except psycopg.OperationalError as error:
        print(f"glow: the event store did not answer ({error}); try again", file=sys.stderr)
        return 1
    width = max((len(lag.consumer) for lag in lags), default=10)
    print(f"{'consumer':<{width}}  {'position':>10}  {'target':>10}  {'behind':>8}")
    for lag in lags:
        print(
            f"{lag.consumer:<{width}}  {lag.position:>10}  {lag.target:>10}  "
            f"{lag.behind:>8} {lag.unit}"
        )
    counts = dead_letters(postgres_conninfo(settings.event_store_url))
    if any(counts.values()):  # a table of positions alone would hide what a sink skipped
        listed = ", ".join(f"{sink} {n}" for sink, n in counts.items())
        print(f"dead letters: {listed} (glow dead-letters list)")
    return 0
