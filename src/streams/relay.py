"""The relay: carries the event store's notification log to Kafka topics, at least once.

It reads the log after its position, publishes every published event's envelope to its topic
keyed by aggregate id (one aggregate, one partition: its events stay in order), waits until
the broker acknowledged every message of the page, and only then records the page's last
position in PostgreSQL. A crash between the acknowledgement and the record re-publishes the
page: consumers are idempotent by event id and version. It wakes on the events table's NOTIFY
channel and polls as a fallback when a notification is missed.

A broker that comes back without the topics (Tansu keeps them in memory; a cluster rebuilt
from scratch) has lost whatever the workers had not consumed yet: the relay then re-publishes
from the lowest position a worker recorded as fully applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

import psycopg
from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped]
from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # type: ignore[import-untyped]
from aiokafka.errors import KafkaError  # type: ignore[import-untyped]

from streams.log_reader import LogReader
from streams.positions import RELAY, PositionBook
from streams.published import EVENT_TOPICS, KAFKA_TOPICS

log = logging.getLogger(__name__)

CHANNEL = "inventory_events"  # eventsourcing NOTIFYs the events table's name


@dataclass(frozen=True)
class RelayConfig:
    bootstrap_servers: str
    conninfo: str
    page: int = 2000
    poll_seconds: float = 1.0
    partitions: int = 4
    retry_seconds: float = 1.0
    topic_prefix: str = ""


MARKER_TOPIC = "glow-relay-marker"  # never written: its absence tells a broker that lost its topics


class TopicKeeper:
    """Creates the topics a broker lacks. A broker that restarts empty (Tansu in memory) may
    create topics again as soon as a producer writes to them, so the relay also keeps a marker
    topic nobody writes to: when the marker is gone, everything published before is gone."""

    def __init__(self, bootstrap_servers: str, partitions: int, prefix: str = "") -> None:
        self.admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
        self.wanted = {prefix + topic: partitions for topic in KAFKA_TOPICS}
        self.wanted[prefix + MARKER_TOPIC] = 1

    async def __aenter__(self) -> TopicKeeper:
        await self.admin.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.admin.close()

    async def ensure(self) -> list[str]:
        """Create the topics the broker lacks; return the names created."""
        existing = set(await self.admin.list_topics())
        missing = [topic for topic in self.wanted if topic not in existing]
        if missing:
            await self.admin.create_topics(
                [NewTopic(t, num_partitions=self.wanted[t], replication_factor=1) for t in missing]
            )
        return missing


async def ensure_topics(bootstrap_servers: str, partitions: int, prefix: str = "") -> list[str]:
    async with TopicKeeper(bootstrap_servers, partitions, prefix) as keeper:
        return await keeper.ensure()


class Relay:
    def __init__(self, reader: LogReader, config: RelayConfig, name: str = RELAY) -> None:
        self.reader = reader
        self.config = config
        self.name = name
        self.positions = PositionBook(config.conninfo)
        self.published = 0

    def rewind(self, position: int) -> None:
        """Publish again everything after `position` (glow relay --from N)."""
        self.positions.set(self.name, position)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Relay until `stop` is set; reconnects to the broker after any failure."""
        stop = stop or asyncio.Event()
        while not stop.is_set():
            try:
                await self._run_connected(stop)
            except (KafkaError, OSError, psycopg.OperationalError) as error:
                log.warning("relay: %s; retrying in %.1f s", error, self.config.retry_seconds)
                await _wait(stop, self.config.retry_seconds)

    async def _run_connected(self, stop: asyncio.Event) -> None:
        config = self.config
        async with TopicKeeper(
            config.bootstrap_servers, config.partitions, config.topic_prefix
        ) as keeper:
            await self._follow(stop, keeper)

    async def _follow(self, stop: asyncio.Event, keeper: TopicKeeper) -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=self.config.bootstrap_servers,
            acks="all",
            linger_ms=2,
            max_batch_size=1 << 20,
            request_timeout_ms=10_000,
        )
        await producer.start()
        listener = await psycopg.AsyncConnection.connect(self.config.conninfo, autocommit=True)
        try:
            await listener.execute(f"LISTEN {CHANNEL}")
            while not stop.is_set():
                if await self.publish_pending(producer, keeper) == 0:
                    await self._wait_for_commit(listener, stop)
        finally:
            await listener.close()
            await producer.stop()

    async def _recover_lost_topics(self, keeper: TopicKeeper) -> None:
        created = await keeper.ensure()
        position = await asyncio.to_thread(self.positions.get, self.name)
        if created and position > 0:
            needed = await asyncio.to_thread(self.positions.consumers)
            start = min(min(needed.values(), default=0), position)
            log.warning(
                "relay: the broker lacked %s; re-publishing from position %d",
                ", ".join(created),
                start,
            )
            await asyncio.to_thread(self.rewind, start)

    async def publish_pending(self, producer: AIOKafkaProducer, keeper: TopicKeeper) -> int:
        """Publish pages until the log's head; returns the number of events published. Before
        each page, checks that the broker still has the topics (else rewinds)."""
        published = 0
        while True:
            await self._recover_lost_topics(keeper)
            after = await asyncio.to_thread(self.positions.get, self.name)
            batch = await asyncio.to_thread(self.reader.read, after, self.config.page)
            if batch.last_position == after:
                return published
            sends = [
                await producer.send(
                    self.config.topic_prefix + EVENT_TOPICS[envelope.type],
                    value=envelope.to_json(),
                    key=envelope.aggregate_id.encode(),
                )
                for envelope in batch.envelopes
            ]
            await asyncio.gather(*sends)  # every message acknowledged, or an error raised
            await asyncio.to_thread(self.positions.set, self.name, batch.last_position)
            published += len(batch.envelopes)
            self.published += len(batch.envelopes)

    async def _wait_for_commit(
        self, listener: psycopg.AsyncConnection[object], stop: asyncio.Event
    ) -> None:
        async for _ in listener.notifies(timeout=self.config.poll_seconds, stop_after=1):
            break

    def close(self) -> None:
        self.positions.close()


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
