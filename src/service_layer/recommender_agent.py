"""The recommender follower in the cluster (`glow recommend follow` with GLOW_BROKER_URL): a
Faust app of its own consumer group whose agent counts the sales and returns the relay
publishes to the inventory topic, and hands the count to the follower; a second agent hears
the catalog topic (products, SKUs, promotions); a timer asks the follower to update when that
count (or the time since the last update) makes one due, and to publish the catalog when it
changed. The
update itself reads the event log, as without a broker (the log is the truth; the topic only
says when to look), on one worker thread so that the agent keeps consuming and the consumer
keeps its heartbeats while a model trains.

The group starts at the topic's end (`latest`): history is read from the log at start, not
counted again from the topic. Offsets are committed as Faust acknowledges a batch; a count
lost in a crash costs nothing, since a restarted follower reads the log first."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import faust
import orjson

from events.published import CATALOG_TOPIC, INVENTORY_TOPIC
from service_layer.recommender_follower import RecommenderFollower
from streams.faust_app import TRANSPORT

log = logging.getLogger(__name__)

INTERACTION_EVENTS = frozenset({"Stock.Sold", "Stock.Returned"})
BATCH = 500
WITHIN_SECONDS = 0.5
TIMER_SECONDS = 2.0


def group_id(prefix: str = "") -> str:
    return f"{prefix}glow-recommender"


def interactions_in(values: list[bytes]) -> int:
    """How many of these inventory messages are sales or returns (others, and anything that
    is not an envelope, count nothing)."""
    found = 0
    for value in values:
        try:
            kind = orjson.loads(value).get("type")
        except (orjson.JSONDecodeError, AttributeError):
            continue
        found += kind in INTERACTION_EVENTS
    return found


def create_recommender_app(
    bootstrap_servers: str,
    follower: RecommenderFollower,
    *,
    prefix: str = "",
    web_port: int = 6067,
    data_dir: str = "var/faust-recommender",
) -> faust.App:
    app = faust.App(
        group_id(prefix),
        broker=[f"{TRANSPORT}://{host}" for host in bootstrap_servers.split(",")],
        value_serializer="raw",
        key_serializer="raw",
        web_enabled=False,
        web_port=web_port,
        datadir=data_dir,
        consumer_auto_offset_reset="latest",
        broker_session_timeout=10,
        broker_heartbeat_interval=1,
        broker_commit_interval=1,
    )
    executor = ThreadPoolExecutor(1, thread_name_prefix="recommender")
    topic = app.topic(prefix + INVENTORY_TOPIC, value_serializer="raw")

    @app.agent(topic, name="recommender-interactions")
    async def count(stream: Any) -> AsyncIterator[None]:
        async for values in stream.take(BATCH, within=WITHIN_SECONDS):
            follower.hear(interactions_in(values))
            yield None

    catalog = app.topic(prefix + CATALOG_TOPIC, value_serializer="raw")

    @app.agent(catalog, name="recommender-catalog")
    async def products(stream: Any) -> AsyncIterator[None]:
        async for values in stream.take(BATCH, within=WITHIN_SECONDS):
            if values:  # a product, SKU or promotion changed: the catalog is published again
                follower.hear_catalog()
            yield None

    @app.task  # type: ignore[untyped-decorator]
    async def begin() -> None:
        await _run(executor, follower.start, "start")
        await _run(executor, follower.step, "first step")  # what arrived while none ran

    @app.timer(TIMER_SECONDS)  # type: ignore[untyped-decorator]
    async def update() -> None:
        await _run(executor, follower.step_if_heard, "update")

    return app


async def _run(executor: ThreadPoolExecutor, work: Any, what: str) -> None:
    try:
        await asyncio.get_running_loop().run_in_executor(executor, work)
    except Exception as error:  # a store away: the next timer tries again
        log.warning("recommender %s failed: %s: %s", what, type(error).__name__, error)
