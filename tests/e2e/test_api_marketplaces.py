"""Marketplaces over HTTP on PostgreSQL: their orders imported idempotently (one marketplace
order id, one order, also when sixteen copies arrive at once), and the available-to-sell feed
published as it changes, coalesced, as `availability.changed` webhooks and on a Kafka topic."""

from __future__ import annotations

import asyncio
import itertools
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import psycopg
import pytest
from aiokafka import AIOKafkaConsumer  # type: ignore[import-untyped]

from service_layer.marketplace_feed import FEED_TOPIC
from tests.e2e.conftest import WRITERS
from tests.e2e.ledger_server import (
    RunningLedger,
    auth_headers,
    count_events,
    define_sku,
    headers,
    ok,
    serve,
    stocked_sku,
    token,
)
from tests.e2e.test_api_webhooks import hooked, subscribe
from tests.e2e.webhook_receiver import OK, always, receiving

SKU, STORE = "SERUM-MP", "LYON-MP"
HOME = {"method": "ship", "latitude": 45.76, "longitude": 4.83}
MARKET = {
    "Idempotency-Key": "ignored",
    "X-Channel": "marketplace",
    "Authorization": f"Bearer {token('channel', 'zalando-bridge', channel='marketplace')}",
}


def imported(marketplace_id: str, quantity: int = 1) -> dict[str, Any]:
    return {
        "marketplace_order_id": marketplace_id,
        "lines": [{"sku": SKU, "quantity": quantity}],
        "delivery": HOME,
    }


def placed_events(store_url: str, order_id: str) -> int:
    with psycopg.connect(store_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM inventory_events WHERE originator_id = %s AND topic LIKE %s",
            (order_id, "%Order.Placed"),
        ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture
def market(either_ledger: RunningLedger) -> Iterator[httpx.Client]:
    with httpx.Client(
        headers=auth_headers(), base_url=either_ledger.base_url, timeout=30
    ) as client:
        stocked_sku(client, SKU, STORE, {"M1": 100})
        yield client


@pytest.mark.postgres
@WRITERS
def test_sixteen_concurrent_imports_of_one_marketplace_order_make_one_order(
    either_ledger: RunningLedger, market: httpx.Client
) -> None:
    async def send_all() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=either_ledger.base_url, timeout=30) as client:
            calls = [
                client.post("/marketplaces/zalando/orders", json=imported("Z-1001"), headers=MARKET)
                for _ in range(16)
            ]
            return list(await asyncio.gather(*calls))

    answers = asyncio.run(send_all())
    assert {a.status_code for a in answers} == {201}, [a.text for a in answers]
    replayed = [a.headers.get("idempotent-replayed") == "true" for a in answers]
    assert sorted(replayed) == [False] + [True] * 15  # one decided, fifteen heard its answer
    order_ids = {a.json()["order_id"] for a in answers}
    assert len(order_ids) == 1
    order_id = order_ids.pop()
    assert placed_events(either_ledger.store_url, order_id) == 1
    found = ok(market.get(f"/orders/{order_id}"))
    assert found["channel"] == "marketplace"
    assert found["source_ref"] == "zalando:Z-1001"
    assert found["lines"][0]["quantity"] == 1
    again = market.post("/marketplaces/zalando/orders", json=imported("Z-1001"), headers=MARKET)
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"


@pytest.mark.postgres
def test_one_id_on_two_marketplaces_is_two_orders_and_changed_content_is_refused(
    ledger: RunningLedger,
) -> None:
    with httpx.Client(headers=auth_headers(), base_url=ledger.base_url, timeout=30) as client:
        stocked_sku(client, SKU, STORE, {"M1": 100})
        first = ok(
            client.post("/marketplaces/zalando/orders", json=imported("A-1"), headers=MARKET)
        )
        other = ok(client.post("/marketplaces/amazon/orders", json=imported("A-1"), headers=MARKET))
        assert first["order_id"] != other["order_id"]
        changed = client.post(
            "/marketplaces/zalando/orders", json=imported("A-1", quantity=3), headers=MARKET
        )
        assert changed.status_code in (409, 422), changed.text
        assert changed.headers["content-type"] == "application/problem+json"
        assert ok(client.get(f"/orders/{first['order_id']}"))["lines"][0]["quantity"] == 1


@pytest.mark.postgres
def test_another_channels_token_cannot_import_marketplace_orders(ledger: RunningLedger) -> None:
    web = {
        "X-Channel": "web",
        "Authorization": f"Bearer {token('channel', 'web-shop', channel='web')}",
    }
    with httpx.Client(base_url=ledger.base_url, timeout=30) as client:
        answer = client.post("/marketplaces/zalando/orders", json=imported("W-1"), headers=web)
    assert answer.status_code == 422, answer.text
    assert answer.json()["type"].endswith("not-a-marketplace-channel")
    assert "marketplace" in answer.json()["detail"]


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("path", "body", "channel", "status", "says"),
    [
        ("/marketplaces/zalando/orders", imported("B-1"), "web", 422, "marketplace"),
        ("/marketplaces/Zal%20ando/orders", imported("B-1"), "marketplace", 422, "marketplace"),
        ("/marketplaces/zalando/orders", {"lines": []}, "marketplace", 422, "marketplace_order_id"),
        (
            "/marketplaces/zalando/orders",
            {**imported("B-1"), "marketplace_order_id": "x y"},
            "marketplace",
            422,
            "marketplace_order_id",
        ),
    ],
)
def test_a_bad_import_is_refused_with_a_problem_and_records_nothing(
    ledger: RunningLedger, path: str, body: dict[str, Any], channel: str, status: int, says: str
) -> None:
    with httpx.Client(headers=auth_headers(), base_url=ledger.base_url, timeout=30) as client:
        stocked_sku(client, SKU, STORE, {"M1": 100})
        before = count_events(ledger.store_url)
        answer = client.post(path, json=body, headers={**headers(channel=channel)})
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert says in answer.text
        assert count_events(ledger.store_url) == before, "nothing is recorded"


def _sell(client: httpx.Client, units: int) -> None:
    sale = {"lines": [{"sku": SKU, "location": STORE, "quantity": units}]}
    ok(client.post("/sales", json=sale, headers=headers(channel="pos")))


def _last_feed(receiver: Any, count: int, available: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = [r.json["data"] for r in receiver.accepted()]
        if len(found) >= count and found[-1]["available_to_sell"] == available:
            return found
        time.sleep(0.05)
    raise AssertionError(f"the feed never showed {available}: {receiver.accepted()}")


@pytest.mark.postgres
def test_the_feed_publishes_marketplace_availability_coalesced_per_interval(
    postgres_store: str,
) -> None:
    interval = 1.0
    with (
        serve(hooked(postgres_store, feed_interval_seconds=interval)) as running,
        httpx.Client(headers=auth_headers(), base_url=running.base_url, timeout=30) as client,
        receiving(always(OK)) as receiver,
    ):
        subscribe(client, receiver.url, "availability.changed", channels=["marketplace"])
        stocked_sku(client, SKU, STORE, {"M1": 40})
        rules = {"safety_buffers": {SKU: 5}, "min_shelf_life_days": 30}
        ok(client.post("/channels/marketplace/rules", json=rules, headers=headers()))
        _last_feed(receiver, 1, 35)
        for _ in range(12):  # twelve sales in well under the interval
            _sell(client, 1)
        published = _last_feed(receiver, 2, 23)
        answer = ok(client.get(f"/channels/marketplace/availability/{SKU}?consistency=ledger"))
    assert answer["available_to_sell"] == 23
    assert len(published) < 12  # coalesced: not one publication per sale
    times = [_instant(p["published_at"]) for p in published]
    assert all(b - a >= interval - 0.05 for a, b in itertools.pairwise(times))
    assert all(p["channel"] == "marketplace" and p["sku"] == SKU for p in published)


@pytest.mark.postgres
def test_a_kit_is_in_the_feed_and_moves_with_its_component(postgres_store: str) -> None:
    with (
        serve(hooked(postgres_store, feed_interval_seconds=0.2)) as running,
        httpx.Client(headers=auth_headers(), base_url=running.base_url, timeout=30) as client,
        receiving(always(OK)) as receiver,
    ):
        subscribe(client, receiver.url, "availability.changed", channels=["marketplace"])
        stocked_sku(client, SKU, STORE, {"M1": 10})
        define_sku(client, "DUO-MP")
        ok(client.post("/kits", json={"sku": "DUO-MP", "components": {SKU: 2}}, headers=headers()))

        def kit_feed() -> list[int]:
            found = [r.json["data"] for r in receiver.accepted()]
            return [d["available_to_sell"] for d in found if d["sku"] == "DUO-MP"]

        def kit_feed_shows(units: int) -> bool:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if kit_feed()[-1:] == [units]:
                    return True
                time.sleep(0.05)
            return False

        assert kit_feed_shows(5), kit_feed()  # defined: 10 units, 5 whole kits
        _sell(client, 4)  # only the component is sold: 6 left, 3 whole kits
        assert kit_feed_shows(3), kit_feed()


def _instant(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text).timestamp()


@pytest.mark.postgres
@pytest.mark.kafka
def test_the_feed_topic_carries_each_publication_keyed_by_channel_and_sku(
    postgres_store: str,
) -> None:
    broker = os.environ.get("GLOW_TEST_KAFKA_URL")
    if not broker:
        pytest.fail("GLOW_TEST_KAFKA_URL is not set: run with scripts/test", pytrace=False)
    prefix = f"wh-{uuid.uuid4().hex[:8]}-"
    settings = hooked(
        postgres_store,
        broker_url=broker,
        topic_prefix=prefix,
        feed_interval_seconds=0.5,
        hot_views_url=None,
        analytics_url=None,
    )
    with (
        serve(settings) as running,
        httpx.Client(headers=auth_headers(), base_url=running.base_url, timeout=30) as client,
    ):
        stocked_sku(client, SKU, STORE, {"M1": 10})
        records = asyncio.run(_read_topic(broker, prefix + FEED_TOPIC, 1))
        _sell(client, 4)
        records = asyncio.run(_read_topic(broker, prefix + FEED_TOPIC, 2))
    assert [key for key, _ in records][-1] == f"marketplace:{SKU}"
    values = [value["data"]["available_to_sell"] for _, value in records]
    assert values[0] == 10 and values[-1] == 6
    assert all(value["type"] == "availability.changed" for _, value in records)


async def _read_topic(broker: str, topic: str, count: int) -> list[tuple[str, Any]]:
    servers = broker.removeprefix("kafka://")
    deadline = time.monotonic() + 30
    while True:
        consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=servers, auto_offset_reset="earliest", group_id=None
        )
        await consumer.start()
        try:
            batches = await consumer.getmany(timeout_ms=1000)
            found = sorted(
                (record for records in batches.values() for record in records),
                key=lambda record: record.timestamp,
            )
        finally:
            await consumer.stop()
        if len(found) >= count or time.monotonic() > deadline:
            return [(r.key.decode(), orjson.loads(r.value)) for r in found]
        await asyncio.sleep(0.2)
