"""Where a forgotten customer's data could still be, read the hard way: a `pg_dump` of the
database as text, every key and value of the test Redis database, every byte under a chDB
folder, every message of the broker's topics read back. Each probe returns the needles it
found, so a test says which store kept what; a test first shows each probe finds the data
before the forget (a probe that cannot find anything proves nothing).

Extend `PersonalData.needles` (survey text, support notes) as new personal data is recorded."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import redis
from aiokafka import AIOKafkaConsumer  # type: ignore[import-untyped]
from aiokafka.structs import TopicPartition  # type: ignore[import-untyped]


@dataclass(frozen=True)
class PersonalData:
    """What one customer told the shop: none of it may outlive their forget anywhere."""

    name: str
    email: str
    phone: str  # as stored: E.164
    address_line: str
    skin_allergy: str
    feedback_comment: str
    free_text: tuple[str, ...] = field(default=())  # survey answers, support notes, ...

    def needles(self) -> list[str]:
        return [
            self.name,
            self.email,
            self.phone,
            self.address_line,
            self.skin_allergy,
            self.feedback_comment,
            *self.free_text,
        ]


def found(haystack: bytes, needles: Iterable[str]) -> list[str]:
    return [needle for needle in needles if needle.encode() in haystack]


def pg_dump_text(url: str) -> bytes:
    """The whole database (schema and rows) as `pg_dump` writes it."""
    return subprocess.run(["pg_dump", "--inserts", url], check=True, capture_output=True).stdout


def in_postgres(url: str, needles: Iterable[str]) -> list[str]:
    return found(pg_dump_text(url), needles)


def redis_contents(url: str) -> bytes:
    """Every key of the Redis database at `url` and every value, whatever its type."""
    client = redis.Redis.from_url(url)
    parts: list[bytes] = []
    try:
        for key in client.scan_iter(count=1000):
            parts.append(key)
            kind = client.type(key)
            if kind == b"string":
                parts.append(client.get(key) or b"")
            elif kind == b"hash":
                for k, v in client.hgetall(key).items():
                    parts += [k, v]
            elif kind == b"set":
                parts += list(client.smembers(key))
            elif kind == b"zset":
                parts += [m for m, _ in client.zrange(key, 0, -1, withscores=True)]
            elif kind == b"list":
                parts += list(client.lrange(key, 0, -1))
            else:
                raise AssertionError(f"a Redis key of a type this probe cannot read: {kind!r}")
    finally:
        client.close()
    return b"\n".join(parts)


def in_redis(url: str, needles: Iterable[str]) -> list[str]:
    return found(redis_contents(url), needles)


def folder_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def in_folder(folder: Path, needles: Iterable[str]) -> list[str]:
    return found(folder_bytes(folder), needles)


def topic_contents(bootstrap_servers: str, topics: Sequence[str]) -> bytes:
    """Every message (key, value, headers) of `topics`, read back from the first offset."""

    async def read() -> bytes:
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
        await consumer.start()
        try:
            await consumer.topics()
            tps = [
                TopicPartition(topic, p)
                for topic in topics
                for p in sorted(consumer.partitions_for_topic(topic) or ())
            ]
            ends = await consumer.end_offsets(tps)
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            parts: list[bytes] = []
            for tp in tps:
                while await consumer.position(tp) < ends[tp]:
                    batch = await consumer.getmany(tp, timeout_ms=1000)
                    for message in batch.get(tp, []):
                        parts += [message.key or b"", message.value or b""]
                        parts += [value for _, value in message.headers or ()]
            return b"\n".join(parts)
        finally:
            await consumer.stop()

    return asyncio.run(read())


def in_topics(bootstrap_servers: str, topics: Sequence[str], needles: Iterable[str]) -> list[str]:
    return found(topic_contents(bootstrap_servers, topics), needles)


def eventually_absent(
    probe: Callable[[], list[str]], seconds: float, interval: float = 1.0
) -> list[str]:
    """What `probe` still finds once it finds nothing, or when `seconds` have passed."""
    deadline = time.monotonic() + seconds
    while (left := probe()) and time.monotonic() < deadline:
        time.sleep(interval)
    return left
