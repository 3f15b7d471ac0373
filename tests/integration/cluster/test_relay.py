"""The relay on PostgreSQL and Tansu: every published event reaches its topic once, keyed by
aggregate id and in each aggregate's order; the position is recorded after the broker
acknowledged; it resumes; a broker that lost its topics gets them again from the workers'
lowest position; `glow relay --from N` re-publishes."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter, defaultdict
from dataclasses import replace
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from cli.dev_broker import start_tansu
from cli.dev_processes import free_port
from configuration.settings import Settings, eventsourcing_env, postgres_conninfo
from domain.ledger import InventoryLedger
from events.envelope import Envelope
from events.published import EVENT_TOPICS, KAFKA_TOPICS
from streams.log_reader import LogReader
from streams.positions import PositionBook
from streams.relay import Relay, RelayConfig
from tests.integration.cluster.processes import seed, sell

pytestmark = pytest.mark.kafka


def relay_for(settings: Settings, ledger: InventoryLedger) -> Relay:
    config = RelayConfig(
        bootstrap_servers=settings.bootstrap_servers(),
        conninfo=postgres_conninfo(settings.event_store_url),
        topic_prefix=settings.topic_prefix,
        poll_seconds=0.2,
    )
    return Relay(LogReader(ledger), config)


async def relay_to_head(relay: Relay, at_least: int = 1) -> None:
    """Run the relay until it has published `at_least` events and recorded the head."""
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    head = relay.reader.head()
    deadline = time.monotonic() + 30
    while relay.published < at_least or relay.positions.get(relay.name) < head:
        assert time.monotonic() < deadline, "the relay did not reach the head"
        await asyncio.sleep(0.05)
    stop.set()
    await task


def published(settings: Settings, expected: int) -> list[tuple[str, int, bytes, Envelope]]:
    """Every message of the cluster's topics (topic, partition, key, envelope)."""

    async def read() -> list[tuple[str, int, bytes, Envelope]]:
        consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers())
        await consumer.start()
        try:
            tps = []
            await consumer.topics()  # fresh metadata
            for name in KAFKA_TOPICS:
                topic = settings.topic_prefix + name
                for partition in sorted(consumer.partitions_for_topic(topic) or ()):
                    tps.append(TopicPartition(topic, partition))
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            found: list[tuple[str, int, bytes, Envelope]] = []
            deadline = time.monotonic() + 20
            while len(found) < expected and time.monotonic() < deadline:
                batches = await consumer.getmany(timeout_ms=300)
                for tp, messages in batches.items():
                    found.extend(
                        (tp.topic, tp.partition, m.key, Envelope.from_json(m.value))
                        for m in messages
                    )
            batches = await consumer.getmany(timeout_ms=500)  # nothing more may come
            for tp, messages in batches.items():
                found.extend(
                    (tp.topic, tp.partition, m.key, Envelope.from_json(m.value)) for m in messages
                )
            return found
        finally:
            await consumer.stop()

    return asyncio.run(read())


def log_envelopes(ledger: InventoryLedger) -> list[Envelope]:
    return LogReader(ledger).read(0, 1_000_000).envelopes


def test_every_event_reaches_its_topic_once_in_aggregate_order(cluster: Settings) -> None:
    seed(cluster.event_store_url, sales=600, pool=8)
    ledger = InventoryLedger(env=eventsourcing_env(cluster.event_store_url))
    try:
        relay = relay_for(cluster, ledger)
        asyncio.run(relay_to_head(relay))
        expected = log_envelopes(ledger)
        assert relay.positions.get("relay") == LogReader(ledger).head()
        relay.close()
    finally:
        ledger.close()
    messages = published(cluster, len(expected))
    assert Counter(m[3].event_id for m in messages) == Counter(e.event_id for e in expected)
    partitions: dict[str, set[tuple[str, int]]] = defaultdict(set)
    versions: dict[str, list[int]] = defaultdict(list)
    for topic, partition, key, envelope in messages:
        assert key == envelope.aggregate_id.encode()
        assert topic == cluster.topic_prefix + EVENT_TOPICS[envelope.type]
        partitions[envelope.aggregate_id].add((topic, partition))
        versions[f"{topic}/{partition}/{envelope.aggregate_id}"].append(envelope.version)
    assert all(len(found) == 1 for found in partitions.values())  # one partition per aggregate
    assert all(v == sorted(v) for v in versions.values())  # in each aggregate's order


def test_the_relay_resumes_from_its_position_and_follows_new_commits(cluster: Settings) -> None:
    seed(cluster.event_store_url, sales=200, pool=4)
    ledger = InventoryLedger(env=eventsourcing_env(cluster.event_store_url))
    try:
        first = relay_for(cluster, ledger)
        asyncio.run(relay_to_head(first))
        first.close()

        async def follow_live_commits() -> None:
            relay = relay_for(cluster, ledger)
            stop = asyncio.Event()
            task = asyncio.create_task(relay.run(stop))
            await asyncio.sleep(0.5)  # listening, idle
            await asyncio.to_thread(sell, cluster.event_store_url, 100, 4)
            head = relay.reader.head()
            deadline = time.monotonic() + 20
            while relay.positions.get("relay") < head:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.02)
            stop.set()
            await task
            assert relay.published == 100  # only what was new
            relay.close()

        asyncio.run(follow_live_commits())
        expected = log_envelopes(ledger)
    finally:
        ledger.close()
    messages = published(cluster, len(expected))
    assert sorted(m[3].event_id for m in messages) == sorted(e.event_id for e in expected)


def test_a_broker_that_lost_its_topics_gets_them_again_from_the_workers_position(
    cluster: Settings,
) -> None:
    seed(cluster.event_store_url, sales=300, pool=4)
    ledger = InventoryLedger(env=eventsourcing_env(cluster.event_store_url))
    book = PositionBook(postgres_conninfo(cluster.event_store_url))
    try:
        head = LogReader(ledger).head()
        book.set("relay", head)  # published once, to a broker that has since lost it all
        book.set("worker", head - 100)  # a worker had applied everything up to here
        expected = [e for e in log_envelopes(ledger) if e.position > head - 100]
        relay = relay_for(cluster, ledger)
        asyncio.run(relay_to_head(relay, len(expected)))
        relay.close()
    finally:
        book.close()
        ledger.close()
    messages = published(cluster, len(expected))
    assert sorted(m[3].event_id for m in messages) == sorted(e.event_id for e in expected)


def test_glow_relay_from_a_position_republishes_what_follows(cluster: Settings) -> None:
    seed(cluster.event_store_url, sales=50, pool=2)
    book = PositionBook(postgres_conninfo(cluster.event_store_url))
    try:
        head = int(glow_head(cluster))
        book.set("relay", head)
        ensure_topics_exist(cluster)
        process_output = run_relay_briefly(cluster, "--from", str(head - 20))
        assert f"after position {head - 20}" in process_output
        assert book.get("relay") == head
    finally:
        book.close()
    ledger = InventoryLedger(env=eventsourcing_env(cluster.event_store_url))
    try:
        expected = [e for e in log_envelopes(ledger) if e.position > head - 20]
    finally:
        ledger.close()
    messages = published(cluster, len(expected))
    assert sorted(m[3].event_id for m in messages) == sorted(e.event_id for e in expected)


def glow_head(settings: Settings) -> str:
    from cli.lag import log_head

    return str(log_head(postgres_conninfo(settings.event_store_url)))


def ensure_topics_exist(settings: Settings) -> None:
    from streams.relay import ensure_topics

    asyncio.run(ensure_topics(settings.bootstrap_servers(), 4, settings.topic_prefix))


def run_relay_briefly(settings: Settings, *args: Any) -> str:
    import signal
    import subprocess

    from tests.integration.cluster.processes import GLOW, environment

    process = subprocess.Popen(
        [GLOW, "relay", *args],
        env=environment(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert process.stdout is not None
    lines: list[bytes] = []
    started = threading.Event()

    def read_output() -> None:  # the relay says when it has rewound; a cold start can be slow
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if b"after position" in line or b"relay started" in line:
                started.set()
        started.set()

    reader = threading.Thread(target=read_output, daemon=True)
    reader.start()
    book = PositionBook(postgres_conninfo(settings.event_store_url))
    try:
        head = int(glow_head(settings))
        started.wait(60)
        deadline = time.monotonic() + 20
        time.sleep(0.5)
        while book.get("relay") < head and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
    finally:
        book.close()
        process.send_signal(signal.SIGTERM)
    process.wait(timeout=20)
    reader.join(timeout=5)
    process.stdout.close()
    return b"".join(lines).decode()


def test_a_broker_restarted_empty_while_the_relay_runs_gets_what_the_workers_need(
    cluster: Settings, tmp_path
) -> None:
    port = free_port()
    broker_log = tmp_path / "tansu.log"
    broker = start_tansu(port, broker_log)
    own = replace(cluster, broker_url=f"kafka://127.0.0.1:{port}")
    seed(own.event_store_url, sales=300, pool=4)
    ledger = InventoryLedger(env=eventsourcing_env(own.event_store_url))
    book = PositionBook(postgres_conninfo(own.event_store_url))
    book.set("worker", 100)  # the workers have applied everything up to here

    async def relay_through_a_broker_restart() -> None:
        nonlocal broker
        relay = relay_for(own, ledger)
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop))
        first_head = relay.reader.head()
        await until(lambda: book.get("relay") >= first_head, "the relay to reach the head")
        broker.terminate()
        broker.wait(10)
        broker = start_tansu(port, broker_log)
        await asyncio.to_thread(sell, own.event_store_url, 50, 4)
        head = relay.reader.head()
        republished = head - 100  # every event a worker still needs (all are published ones)
        await until(
            lambda: book.get("relay") >= head and relay.published >= first_head + republished - 3,
            "the relay to re-publish after the restart",
        )
        stop.set()
        await task
        relay.close()

    try:
        asyncio.run(relay_through_a_broker_restart())
        needed = [e for e in log_envelopes(ledger) if e.position > 100]
        messages = published(own, len(needed))
        assert {e.event_id for e in needed} <= {m[3].event_id for m in messages}
    finally:
        broker.terminate()
        broker.wait(10)
        book.close()
        ledger.close()


async def until(check: Any, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(check):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def test_sigterm_stops_the_relay_at_a_recorded_position_and_a_restart_misses_nothing(
    cluster: Settings, tmp_path
) -> None:
    """SIGTERM while commits keep coming: `glow relay` exits 0 after the page in flight is
    acknowledged and its position recorded, so every event up to that position is on the
    topics already; restarted, it publishes the rest (a page again at most: at least once)."""
    import signal
    import subprocess

    from tests.integration.cluster.processes import start, wait_for

    seed(cluster.event_store_url, sales=0, pool=20)
    book = PositionBook(postgres_conninfo(cluster.event_store_url))
    log = tmp_path / "relay.log"
    writer = threading.Thread(
        target=lambda: [sell(cluster.event_store_url, 1000, 20) for _ in range(6)]
    )
    writer.start()
    try:
        relay = start(cluster, "relay", log=log)
        wait_for(lambda: book.get("relay") > 1000, 60, "the relay to pass 1,000")
        relay.send_signal(signal.SIGTERM)
        try:
            assert relay.wait(20) == 0, log.read_text()
        except subprocess.TimeoutExpired:
            relay.kill()
            raise
        stopped_at = book.get("relay")
        assert "relay stopped after publishing" in log.read_text()
        ledger = InventoryLedger(env=eventsourcing_env(cluster.event_store_url))
        try:
            before = [e for e in log_envelopes(ledger) if e.position <= stopped_at]
        finally:
            ledger.close()
        on_topics = {m[3].event_id for m in published(cluster, len(before))}
        assert {e.event_id for e in before} <= on_topics  # recorded only once acknowledged

        writer.join(120)
        head = int(glow_head(cluster))
        assert stopped_at < head  # it stopped mid-stream
        relay = start(cluster, "relay", log=log)
        wait_for(lambda: book.get("relay") >= head, 60, "the restarted relay to reach the head")
        relay.send_signal(signal.SIGTERM)
        assert relay.wait(20) == 0, log.read_text()
    finally:
        writer.join(120)
        book.close()
    ledger = InventoryLedger(env=eventsourcing_env(cluster.event_store_url))
    try:
        expected = log_envelopes(ledger)
    finally:
        ledger.close()
    messages = published(cluster, len(expected))
    assert {e.event_id for e in expected} <= {m[3].event_id for m in messages}
