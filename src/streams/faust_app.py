"""The Faust app of the cluster path (`glow worker`): one agent reads the inventory, catalog and
orders topics in batches and hands them to the StreamProjector, which runs the same projectors
and stores as the embedded driver; a second agent does the same with the `customer` topic (the
customer ledger's log, with its own watermark, its projector erasing whom it forgets). State
lives in Redis and ClickHouse, never in Faust Tables, and offsets are committed after a batch is
applied: at least once, idempotent stores. An event a store cannot take is set aside in
`projection_dead_letters`; a store that cannot be reached is waited for, and the batch applied
again, before its offsets are committed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import faust
from faust.transport.drivers import TRANSPORTS
from faust.transport.drivers import aiokafka as faust_aiokafka

from events.envelope import Envelope
from events.published import CATALOG_TOPIC, CUSTOMER_TOPIC, INVENTORY_TOPIC, ORDER_TOPIC
from projections.behaviour_rows import TrackedBatch
from projections.behaviour_tables import BehaviourTables
from streams.behaviour_topic import BEHAVIOUR_TOPIC
from streams.embedded_driver import ASK_SECONDS
from streams.isolation import SET_ASIDE
from streams.stream_projector import StreamProjector
from streams.stream_tracing import message_parent
from telemetry import tracing
from telemetry.tracing import Parent

log = logging.getLogger(__name__)

PROJECTED_TOPICS = (INVENTORY_TOPIC, CATALOG_TOPIC, ORDER_TOPIC)  # orders: views and facts
BATCH = 500
BEHAVIOUR_BATCH = 200  # messages, each one ingestion (up to GLOW_TRACK_MAX_BATCH events)
WITHIN_SECONDS = 0.02
# Faust fixes the consumer's fetch wait at 1,500 ms, and Tansu answers a fetch with no new data
# only after half the wait, so a message could sit ~750 ms before the worker saw it.
FETCH_MAX_WAIT_MS = 40
TRANSPORT = "glowkafka"


class _PromptConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        return consumer


class _PromptConsumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _PromptConsumerThread(self, loop=self.loop, beacon=self.beacon)


class PromptTransport(faust_aiokafka.Transport):
    """Faust's aiokafka transport with a short fetch wait, under the scheme glowkafka://."""

    Consumer = _PromptConsumer


TRANSPORTS.aliases[TRANSPORT] = f"{__name__}:PromptTransport"


@dataclass(frozen=True)
class ProjectorApp:
    app: faust.App
    agent: Any  # the projecting agent, for agent.test_context()


def group_id(prefix: str = "") -> str:
    return f"{prefix}glow-projector"


def create_app(
    bootstrap_servers: str,
    projector: StreamProjector,
    *,
    prefix: str = "",
    web_port: int = 6066,
    data_dir: str = "var/faust",
    partitions: int = 4,
    customers: StreamProjector | None = None,
    behaviour: BehaviourTables | None = None,
) -> ProjectorApp:
    app = faust.App(
        group_id(prefix),
        broker=[f"{TRANSPORT}://{host}" for host in bootstrap_servers.split(",")],
        value_serializer="raw",
        key_serializer="raw",
        web_enabled=False,
        web_port=web_port,
        datadir=data_dir,
        topic_partitions=partitions,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=4,
        broker_heartbeat_interval=1,
        broker_rebalance_timeout=4,
        broker_commit_interval=1,
        producer_acks=1,
    )
    executor = ThreadPoolExecutor(1, thread_name_prefix="projector")  # one writer, in order
    agent = _projecting(app, [prefix + name for name in PROJECTED_TOPICS], projector, executor)
    projectors = [projector]
    if customers is not None:  # the customer log's topic, with its own watermark
        _projecting(app, [prefix + CUSTOMER_TOPIC], customers, executor, "project_customers")
        projectors.append(customers)
    if behaviour is not None:  # behaviour: ClickHouse rows, not log events
        _behaviour_agent(app, prefix, behaviour, executor)

    @app.timer(ASK_SECONDS)  # type: ignore[untyped-decorator]
    async def retry_requested_letters() -> None:
        for each in projectors:
            try:
                await asyncio.get_running_loop().run_in_executor(executor, each.retry_requested)
            except Exception as error:  # an outage: the requests stand for the next round
                log.warning("retrying dead letters: %s: %s", type(error).__name__, error)

    return ProjectorApp(app, agent)


def _projecting(
    app: faust.App,
    topic_names: list[str],
    projector: StreamProjector,
    executor: ThreadPoolExecutor,
    name: str = "project",
) -> Any:
    """An agent that reads `topic_names` in batches into `projector`, on the one executor."""
    topic = app.topic(*topic_names, value_serializer="raw")
    topics = set(topic_names)
    offsets: dict[Any, int] = {}  # partition -> the last offset this worker read from it

    async def pending() -> list[Hashable]:
        """The assigned partitions with messages this worker has not read yet."""
        found: list[Hashable] = []
        for tp in app.assignor.assigned_actives():
            if tp.topic not in topics:
                continue
            highwater = app.consumer.highwater(tp)
            after = offsets[tp] + 1 if tp in offsets else await app.consumer.position(tp)
            if highwater is None or after is None or highwater > after:
                found.append(tp)
        return found

    async def project(stream: Any) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        async for events in stream.take_events(BATCH, within=WITHIN_SECONDS):
            delivered = []
            parents: list[Parent | None] = []  # each message's trace context, when traced
            traced = tracing.TRACER is not None
            for event in events:
                tp = event.message.tp
                offsets[tp] = max(offsets.get(tp, -1), event.message.offset)
                envelope = _envelope(event.value, tp, event.message.offset)
                if envelope is not None:
                    delivered.append((tp, envelope))
                    if traced:
                        parents.append(message_parent(event.message.headers))
            waiting = await pending()
            applied = await loop.run_in_executor(
                executor, projector.apply_patiently, delivered, waiting, parents
            )
            if applied is None:  # stopping while a store was unreachable: not acknowledged
                return
            log.info(  # one line per batch (configuration/logs.py)
                "worker batch",
                extra={"step": "worker-batch", "events": len(delivered), "pending": len(waiting)},
            )
            yield None

    return app.agent(topic, name=f"{__name__}.{name}")(project)


def _behaviour_agent(
    app: faust.App, prefix: str, tables: BehaviourTables, executor: ThreadPoolExecutor
) -> None:
    """The `behaviour` topic into ClickHouse: a batch of messages is one write (one insert per
    table), and its offsets are committed only after the write (at least once: the events'
    ReplacingMergeTree replaces a row written twice). A write that fails is tried again,
    with a growing pause, until it passes or the worker stops."""
    topic = app.topic(prefix + BEHAVIOUR_TOPIC, value_serializer="raw")

    @app.agent(topic, name="behaviour")
    async def write_behaviour(stream: Any) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        async for values in stream.take(BEHAVIOUR_BATCH, within=WITHIN_SECONDS):
            batch = TrackedBatch()
            for value in values:
                try:
                    batch.extend(TrackedBatch.from_json(value))
                except Exception as error:  # not ours: only the API writes this topic
                    log.warning("worker: skipped a behaviour message (%s)", type(error).__name__)
                    SET_ASIDE.labels("behaviour").inc()
            pause = 0.1
            while batch:
                try:
                    await loop.run_in_executor(executor, tables.write, batch)
                    break
                except Exception as error:
                    log.warning(
                        "behaviour write failed, retrying: %s: %s", type(error).__name__, error
                    )
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, 5.0)
            log.info(
                "worker behaviour batch",
                extra={
                    "step": "worker-behaviour",
                    "messages": len(values),
                    "rows": len(batch.events),
                },
            )
            yield None


def _envelope(value: bytes, tp: Any, offset: int) -> Envelope | None:
    """The message's envelope; None (and one log line) for a message that is none: only the
    relay writes these topics, so it names no event of the log to set aside, and the worker
    must not stop on it."""
    try:
        return Envelope.from_json(value)
    except Exception as error:
        log.warning(
            "worker: skipped message %s@%d, not an envelope (%s: %s)",
            tp,
            offset,
            type(error).__name__,
            " ".join(str(error).split())[:200],
        )
        SET_ASIDE.labels("worker").inc()
        return None
