"""The same projector tests under both drivers: the embedded driver (Sinks fed from the log)
and the Faust driver (the worker's agent, run by Faust's test context without a broker). Each
delivers a busy day's log in batches, every batch again with the one before it (a redelivery
after a crash), into Redis or the in-process store and ClickHouse (chDB)."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import shop
from busy_day import busy_day

from events.envelope import Envelope
from projections.clickhouse_facts import ClickHouseFacts
from projections.facts import KEYS, TABLES, as_dicts, batch_rows
from projections.hot_views import fold
from streams.embedded_driver import CONSUMER, Sinks
from streams.faust_app import create_app
from streams.stream_projector import StreamProjector

Batches = list[list[Envelope]]
Driver = Callable[[Sinks, Batches, Path], None]


def deliveries(envelopes: list[Envelope], size: int) -> Batches:
    """Every batch, then the batch before it and itself again."""
    batches = []
    for start in range(0, len(envelopes), size):
        batches.append(envelopes[start : start + size])
        batches.append(envelopes[max(0, start - size) : start + size])
    return batches


def embedded(sinks: Sinks, batches: Batches, _: Path) -> None:
    for batch in batches:
        sinks.apply(batch, batch[-1].position)


def faust_agent(sinks: Sinks, batches: Batches, tmp_path: Path) -> None:
    projector = StreamProjector(sinks)
    total = sum(map(len, batches))

    async def feed() -> None:
        built = create_app(
            "127.0.0.1:9",  # never contacted: the test context feeds the agent directly
            projector,
            prefix=f"t{secrets.token_hex(3)}.",
            data_dir=str(tmp_path / "faust"),
        )
        async with built.agent.test_context() as agent:
            for batch in batches:
                for envelope in batch:
                    partition = hash(envelope.aggregate_id) % 4  # one aggregate, one partition
                    await agent.put(
                        envelope.to_json(),
                        key=envelope.aggregate_id.encode(),
                        partition=partition,
                        wait=False,
                    )
            deadline = time.monotonic() + 30
            while projector.applied < total:
                assert time.monotonic() < deadline, "the agent did not apply every delivery"
                await asyncio.sleep(0.02)
        # The test context builds the broker consumer's thread (with a loop of its own) but
        # never starts it, so nothing would close that loop.
        built.app.consumer._thread.thread_loop.close()

    asyncio.run(feed())


@pytest.fixture(params=[embedded, faust_agent], ids=["embedded", "faust"])
def driver(request: pytest.FixtureRequest) -> Driver:
    chosen: Driver = request.param
    return chosen


def test_both_drivers_project_each_event_once(
    driver: Driver, hot_views, facts: ClickHouseFacts, tmp_path: Path
) -> None:
    log = busy_day()
    driver(Sinks(hot_views=hot_views, facts=facts), deliveries(log.envelopes, 7), tmp_path)
    clean = {key: write.document for key, write in fold({}, log.envelopes).items()}
    assert hot_views.all_documents() == clean
    assert hot_views.position(CONSUMER) == log.envelopes[-1].position
    rows = as_dicts(batch_rows(log.envelopes))
    for table in TABLES:
        expected = {tuple(r[c] for c in KEYS[table]) for r in rows[table]}
        assert len(facts.table_rows(table)) == len(expected), table
    assert facts.position(CONSUMER) == log.envelopes[-1].position
    assert facts.rows("SELECT sum(quantity) AS units FROM sales_lines FINAL") == [{"units": 3}]
    stock = hot_views.read([f"stock:{shop.RED}@{shop.WAREHOUSE}"])
    assert (
        stock[f"stock:{shop.RED}@{shop.WAREHOUSE}"] == clean[f"stock:{shop.RED}@{shop.WAREHOUSE}"]
    )


def test_both_drivers_ignore_an_old_event_delivered_late(
    driver: Driver, hot_views, facts: ClickHouseFacts, tmp_path: Path
) -> None:
    log = busy_day()
    late = [log.envelopes[4], log.envelopes[3]]  # two events again, the older one last
    driver(Sinks(hot_views=hot_views, facts=facts), [log.envelopes, late], tmp_path)
    clean = {key: write.document for key, write in fold({}, log.envelopes).items()}
    assert hot_views.all_documents() == clean
