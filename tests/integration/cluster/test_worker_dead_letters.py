"""The cluster path with real processes (`glow relay` to Tansu, `glow worker` into Redis and
chDB) over a log that holds a poison event: the worker sets it aside in PostgreSQL, reaches the
head, and everything after the poison is in both read models; `glow lag` and
`glow dead-letters list` show it; a retry asked for with `glow dead-letters retry` is answered
by the running worker (here it fails again: nothing was fixed)."""

from __future__ import annotations

from pathlib import Path

import pytest
import shop

from cli.lag import log_head
from configuration.settings import Settings, eventsourcing_env, postgres_conninfo
from domain.ledger import InventoryLedger
from projections.redis_views import RedisHotViews
from streams.dead_letters import PostgresDeadLetters
from streams.embedded_driver import CONSUMER
from streams.positions import PositionBook
from tests.integration.cluster.processes import dump_facts, glow, running, wait_for
from tests.integration.cluster.test_cluster_end_to_end import worker_args
from tests.integration.readside.poisoned_log import ANCIENT, write_poisoned_log

pytestmark = pytest.mark.kafka


def test_the_worker_sets_a_poison_aside_keeps_projecting_and_answers_a_retry(
    cluster: Settings, redis_url: str, tmp_path: Path
) -> None:
    ledger = InventoryLedger(env=eventsourcing_env(cluster.event_store_url))
    try:
        write_poisoned_log(ledger)
    finally:
        ledger.close()
    conninfo = postgres_conninfo(cluster.event_store_url)
    head = log_head(conninfo)
    book, letters = PositionBook(conninfo), PostgresDeadLetters(conninfo)
    log = tmp_path / "processes.log"
    try:
        with (
            running(cluster, "relay", log=log),
            running(cluster, *worker_args(tmp_path), log=log),
        ):
            wait_for(lambda: book.get("worker") >= head, 90, "the worker to reach the head")
            [letter] = letters.listed()
            assert (letter.sink, letter.event_type, letter.error) == (
                "facts",
                "Stock.BatchReceived",
                "DatabaseError",
            )
            assert "dead letters: hot_views 0, facts 1, relay 0" in glow(cluster, "lag")
            assert "Stock.BatchReceived" in glow(cluster, "dead-letters", "list")

            letters.request_retry("facts", letter.position)
            again = wait_for(
                lambda: [v for v in letters.listed() if not v.retry_requested],
                30,
                "the worker to answer the retry",
            )
            assert again[0].attempts == 2, log.read_text()[-3000:]
    finally:
        book.close()
        letters.close()

    views = RedisHotViews.from_url(redis_url, cluster.hot_views_url.partition("namespace=")[2])  # type: ignore[union-attr]
    stock = views.read([f"stock:{shop.RED}@{shop.WAREHOUSE}"])
    document = stock[f"stock:{shop.RED}@{shop.WAREHOUSE}"]
    assert document is not None and document["batches"]["B1"]["on_hand"] == 8
    assert views.position(CONSUMER) == head
    facts = dump_facts(cluster.analytics_url or "")
    assert facts["_sold_units"] == 2 and facts["_position"] == head
    assert not any(ANCIENT in row for row in facts["stock_movements"])
