"""The marketplace feed's Kafka topic: created if the broker lacks it, written at least once
(each publication waits for the broker's acknowledgement), keyed by channel and SKU so that
one SKU's publications stay in order on one partition."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped]
from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # type: ignore[import-untyped]


class FeedTopic:
    def __init__(self, bootstrap_servers: str, partitions: int = 4) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.partitions = partitions
        self.producer: AIOKafkaProducer | None = None

    async def start(self, topic: str) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap_servers)
        await admin.start()
        try:
            if topic not in set(await admin.list_topics()):
                await admin.create_topics(
                    [NewTopic(topic, num_partitions=self.partitions, replication_factor=1)]
                )
        finally:
            await admin.close()
        self.producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap_servers, acks="all", linger_ms=2
        )
        await self.producer.start()

    async def publish(self, topic: str, key: bytes, value: bytes) -> None:
        if self.producer is None:
            raise RuntimeError("the feed topic is not started")
        await (await self.producer.send(topic, value=value, key=key))

    async def stop(self) -> None:
        if self.producer is not None:
            await self.producer.stop()
            self.producer = None
