"""The `behaviour` topic of the cluster path: the API produces one message per ingestion (a
TrackedBatch as JSON, already decided: pseudonyms and counts, no personal data) and answers
once the broker has it; the worker's behaviour agent (streams/faust_app.py) writes them to
ClickHouse in batches and commits its offsets after the insert."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped]
from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # type: ignore[import-untyped]

from projections.behaviour_rows import TrackedBatch

BEHAVIOUR_TOPIC = "behaviour"


class BehaviourTopic:
    """The API's producer, started in its event loop by the first ingestion."""

    def __init__(self, bootstrap_servers: str, prefix: str = "", partitions: int = 4) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topic = prefix + BEHAVIOUR_TOPIC
        self.partitions = partitions
        self._producer: AIOKafkaProducer | None = None
        self._starting = asyncio.Lock()

    async def send(self, batch: TrackedBatch) -> None:
        producer = self._producer or await self._start()
        await (await producer.send(self.topic, value=batch.to_json()))

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def _start(self) -> AIOKafkaProducer:
        async with self._starting:
            if self._producer is None:
                await ensure_topic(self.bootstrap_servers, self.topic, self.partitions)
                producer = AIOKafkaProducer(
                    bootstrap_servers=self.bootstrap_servers, acks="all", linger_ms=2
                )
                await producer.start()
                self._producer = producer
            return self._producer


async def ensure_topic(bootstrap_servers: str, topic: str, partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        if topic not in set(await admin.list_topics()):
            await admin.create_topics(
                [NewTopic(topic, num_partitions=partitions, replication_factor=1)]
            )
    finally:
        await admin.close()
