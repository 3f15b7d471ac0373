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

An event that cannot be published (no topic for it, a payload that does not encode, a message
the broker refuses) is set aside in `projection_dead_letters` under the sink `relay` and the
rest of the page goes on; the broker or the store being away is waited out with a growing
pause. Retries an operator asks for are published when the relay is idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

import psycopg
from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped]
from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # type: ignore[import-untyped]
from aiokafka.errors import (  # type: ignore[import-untyped]
    CorruptRecordException,
    KafkaError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
)

from events.envelope import Envelope
from events.published import EVENT_TOPICS, KAFKA_TOPICS
from streams.dead_letters import DeadLetter, PostgresDeadLetters, letter_for
from streams.isolation import SET_ASIDE
from streams.letter_retry import NotPublishedError
from streams.log_reader import LogReader
from streams.outages import Backoff
from streams.positions import RELAY, PositionBook
from streams.stream_metrics import POSITIONS, PUBLISHED
from streams.stream_tracing import PublishSpans
from telemetry import tracing

log = logging.getLogger(__name__)

CHANNEL = "inventory_events"  # eventsourcing NOTIFYs the events table's name
CUSTOMER_CHANNEL = "customers_events"
# What one event can do wrong on its way to the broker: no topic for its type, a payload that
# does not encode, a message the broker refuses as such. Anything else is the broker's fault.
UNPUBLISHABLE: tuple[type[Exception], ...] = (
    KeyError,
    TypeError,
    ValueError,
    MessageSizeTooLargeError,
    RecordTooLargeError,
    RecordListTooLargeError,
    CorruptRecordException,
)
RETRY_REFUSED: tuple[type[Exception], ...] = (*UNPUBLISHABLE, NotPublishedError)


@dataclass(frozen=True)
class RelayConfig:
    bootstrap_servers: str
    conninfo: str
    page: int = 2000
    poll_seconds: float = 1.0
    partitions: int = 4
    retry_seconds: float = 1.0
    topic_prefix: str = ""


SET_ASIDE.labels(RELAY)  # at 0 from the start: an alert sees the first letter

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
    """Follows one log: the inventory ledger's (`name` RELAY, NOTIFY `inventory_events`), or
    the customer ledger's (`name` RELAY_CUSTOMERS, NOTIFY `customers_events`), each with its
    own position and its own dead letters (the sink is the relay's name)."""

    def __init__(
        self, reader: LogReader, config: RelayConfig, name: str = RELAY, channel: str = CHANNEL
    ) -> None:
        self.reader = reader
        self.config = config
        self.name = name
        self.channel = channel
        self.positions = PositionBook(config.conninfo)
        self.letters = PostgresDeadLetters(config.conninfo)
        self.backoff = Backoff("relay", log, first=config.retry_seconds, cap=30)
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
                await _wait(stop, self.backoff.failed(error))

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
        try:  # stopped also when the broker or the store refuses to connect: no leak per retry
            await producer.start()
            async with await psycopg.AsyncConnection.connect(
                self.config.conninfo, autocommit=True
            ) as listener:
                await listener.execute(f"LISTEN {self.channel}")
                while not stop.is_set():
                    if await self.publish_pending(producer, keeper, stop) == 0:
                        await self.retry_requested(producer)
                        self.backoff.succeeded()
                        await self._wait_for_commit(listener, stop)
        finally:
            await producer.stop()

    async def _recover_lost_topics(self, keeper: TopicKeeper) -> None:
        created = await keeper.ensure()
        position = await asyncio.to_thread(self.positions.get, self.name)
        if created and position > 0:
            needed = await asyncio.to_thread(self.positions.consumers, self.name)
            start = min(min(needed.values(), default=0), position)
            log.warning(
                "relay: the broker lacked %s; re-publishing from position %d",
                ", ".join(created),
                start,
            )
            await asyncio.to_thread(self.rewind, start)

    async def publish_pending(
        self, producer: AIOKafkaProducer, keeper: TopicKeeper, stop: asyncio.Event | None = None
    ) -> int:
        """Publish pages until the log's head, or until `stop` is set (after the page in
        flight is acknowledged and its position recorded); returns the number of events
        published. Before each page, checks that the broker still has the topics (else
        rewinds)."""
        published = 0
        while stop is None or not stop.is_set():
            await self._recover_lost_topics(keeper)
            after = await asyncio.to_thread(self.positions.get, self.name)
            POSITIONS.record(self.name, after)
            batch = await asyncio.to_thread(self.reader.read, after, self.config.page)
            if batch.last_position == after:
                return published
            for lost in batch.unreadable:
                await self._set_aside(letter_for(self.name, lost, lost.error))
            await self._publish_page(producer, batch.envelopes)
            await asyncio.to_thread(self.positions.set, self.name, batch.last_position)
            POSITIONS.record(self.name, batch.last_position)
            PUBLISHED.inc(len(batch.envelopes))
            log.info(  # one line per page published (configuration/logs.py)
                "relay batch",
                extra={
                    "step": "relay-batch",
                    "events": len(batch.envelopes),
                    "set_aside": len(batch.unreadable),
                    "position": batch.last_position,
                },
            )
            published += len(batch.envelopes)
            self.published += len(batch.envelopes)
        return published

    async def _send(self, producer: AIOKafkaProducer, envelopes: list[Envelope]) -> None:
        if tracing.TRACER is not None:
            await self._send_traced(producer, envelopes)
            return
        sends = [
            await producer.send(
                self.config.topic_prefix + EVENT_TOPICS[envelope.type],
                value=envelope.to_json(),
                key=envelope.aggregate_id.encode(),
            )
            for envelope in envelopes
        ]
        await asyncio.gather(*sends)  # every message acknowledged, or an error raised

    async def _send_traced(self, producer: AIOKafkaProducer, envelopes: list[Envelope]) -> None:
        """`_send`, each message with its request's trace context (streams/stream_tracing.py)."""
        spans = PublishSpans()
        try:
            sends = []
            for envelope in envelopes:
                topic = self.config.topic_prefix + EVENT_TOPICS[envelope.type]
                sends.append(
                    await producer.send(
                        topic,
                        value=envelope.to_json(),
                        key=envelope.aggregate_id.encode(),
                        headers=spans.headers(envelope, topic),
                    )
                )
            await asyncio.gather(*sends)
        except BaseException as error:
            spans.end(error)
            raise
        spans.end()

    async def _publish_page(self, producer: AIOKafkaProducer, envelopes: list[Envelope]) -> None:
        """Publish a page; if an event cannot be published (it cannot be encoded, or the
        broker refuses that message: too large, corrupt), send the page again one event at a
        time and set aside each that fails alone. Anything else is the broker's or the
        network's failure and goes up to be waited out."""
        try:
            await self._send(producer, envelopes)
            return
        except Exception as error:
            if not isinstance(error, UNPUBLISHABLE):
                raise
        for envelope in envelopes:  # those already acknowledged go again: at least once
            try:
                await self._send(producer, [envelope])
            except UNPUBLISHABLE as error:
                await self._set_aside(letter_for(self.name, envelope, error))

    async def _set_aside(self, letter: DeadLetter) -> None:
        await asyncio.to_thread(self.letters.record, letter)
        SET_ASIDE.labels(self.name).inc()
        log.warning(
            "relay: set aside event %s (%s) at position %d: %s: %s; the rest goes on",
            letter.event_id,
            letter.event_type,
            letter.position,
            letter.error,
            letter.message,
        )

    async def retry_requested(self, producer: AIOKafkaProducer) -> int:
        """Publish again the letters an operator asked for (glow dead-letters retry)."""
        applied = 0
        for letter in await asyncio.to_thread(self.letters.requested, [self.name]):
            envelope = await asyncio.to_thread(self.reader.event_at, letter.position)
            try:
                if envelope is None:
                    raise NotPublishedError(f"no published event at position {letter.position}")
                await self._send(producer, [envelope])
            except RETRY_REFUSED as error:
                await asyncio.to_thread(self.letters.record, letter.failed_again(error))
                continue
            await asyncio.to_thread(self.letters.remove, self.name, letter.position)
            applied += 1
        return applied

    async def _wait_for_commit(
        self, listener: psycopg.AsyncConnection[object], stop: asyncio.Event
    ) -> None:
        async for _ in listener.notifies(timeout=self.config.poll_seconds, stop_after=1):
            break

    def close(self) -> None:
        self.positions.close()
        self.letters.close()


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
