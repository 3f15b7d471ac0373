"""The customer topic on the cluster path (real Tansu, `glow relay`, `glow worker`): customer
events arrive as envelopes valid under their committed JSON Schemas, a stream consumer sees a
consent withdrawn, the worker keeps the customer view, and `Customer.Forgotten`
(CustomerForgotten) makes the worker erase the customer's order index and recommendations.
No topic, no Redis value and no PostgreSQL row holds the customer's personal data."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import orjson
import pytest
from aiokafka import AIOKafkaConsumer  # type: ignore[import-untyped]
from aiokafka.structs import TopicPartition  # type: ignore[import-untyped]

from configuration.settings import Settings
from events.contracts import committed_contracts, contract_name
from events.published import KAFKA_TOPICS
from projections.redis_views import RedisHotViews
from recommender.store import RecommendationStore
from tests.e2e.ledger_server import caller_headers, eventually, serve
from tests.erasure_proof import PersonalData, in_postgres, in_redis, in_topics
from tests.integration.cluster.processes import glow, running, wait_for
from tests.integration.cluster.test_cluster_end_to_end import worker_args
from tests.integration.readside.test_forget_propagates import (
    SURVEY_SECRET,
    a_customer_life,
    as_customer,
)

pytestmark = pytest.mark.kafka

BEA = PersonalData(
    name="Beatrix Oyelaran-Hask",
    email="bea.oh+shop@example.net",
    phone="+33611223344",
    address_line="4 impasse des Gentianes",
    skin_allergy="CINNAMAL",
    feedback_comment="the pump broke on day two, sadly",
    free_text=(
        "my scalp itches-rb5 after the new shampoo",  # a survey's text answer
        "chat: asked to swap a damaged-tq2 parcel",  # a support contact's notes
    ),
)


def customer_envelopes(servers: str, topic: str) -> list[dict[str, Any]]:
    """Every message of the customer topic, as a consumer of it reads them."""

    async def read() -> list[dict[str, Any]]:
        consumer = AIOKafkaConsumer(bootstrap_servers=servers, enable_auto_commit=False)
        await consumer.start()
        try:
            await consumer.topics()
            tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
            ends = await consumer.end_offsets(tps)
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            found = []
            for tp in tps:
                while await consumer.position(tp) < ends[tp]:
                    for message in (await consumer.getmany(tp, timeout_ms=1000)).get(tp, []):
                        found.append(orjson.loads(message.value))
            return found
        finally:
            await consumer.stop()

    return asyncio.run(read())


def test_customer_events_and_forget_travel_through_the_customer_topic(
    cluster: Settings, redis_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "processes.log"
    servers = cluster.bootstrap_servers()
    topic = cluster.topic_prefix + "customer"
    assert cluster.hot_views_url is not None
    views = RedisHotViews.from_url(*cluster.hot_views_url.split("?namespace="))
    recommendations = RecommendationStore.from_url(cluster.hot_views_url)
    with (
        serve(replace(cluster, survey_webhook_secrets=f"polls:{SURVEY_SECRET}")) as ledger,
        httpx.Client(
            base_url=ledger.base_url, headers=caller_headers("admin", "web"), timeout=30
        ) as client,
        running(cluster, "relay", log=log),
        running(cluster, *worker_args(tmp_path), log=log),
    ):
        customer_id = a_customer_life(client, BEA)
        recommendations.publish("v1", {}, {"any": []}, {customer_id: {"skus": ["SERUM-1"]}}, [])
        key = f"customer:{customer_id}"
        seen = eventually(
            lambda: views.read([key])[key],
            lambda doc: doc is not None and doc["consents"].get("marketing_email") is False,
            seconds=30,
        )
        assert seen["consents"] == {
            "analytics": True,
            "personalisation": True,
            "marketing_email": False,
        }, log.read_text()[-3000:]
        index = f"orders-customer:{customer_id}"
        eventually(lambda: views.ranked(index, None, 10), bool, seconds=30)

        as_customer(client, customer_id, f"/customers/{customer_id}/forget", {})

        eventually(
            lambda: views.read([key])[key],
            lambda doc: doc is not None and doc["status"] == "forgotten",
            seconds=30,
        )
        assert views.ranked(index, None, 10) == []
        assert recommendations.customer(customer_id) is None

        envelopes = eventually(
            lambda: customer_envelopes(servers, topic),
            lambda found: any(e["type"] == "Customer.Forgotten" for e in found),
            seconds=30,
        )
        contracts = committed_contracts()
        for envelope in envelopes:
            schema = contracts[contract_name(envelope["type"])]
            jsonschema.validate(envelope, schema, format_checker=jsonschema.FormatChecker())
        mine = [e for e in envelopes if e["aggregate_id"] == customer_id]
        kinds = [e["type"] for e in mine]
        assert kinds[0] == "Customer.Registered" and kinds[-1] == "Customer.Forgotten"
        withdrawn = [e for e in mine if e["type"] == "Customer.ConsentWithdrawn"]
        assert [e["payload"]["purpose"] for e in withdrawn] == ["marketing_email"]

        def no_lag() -> bool:  # both logs' relays and watermarks, the four topics, Redis
            lines = glow(cluster, "lag").splitlines()[1:]
            customer_log = [line for line in lines if ":customer" in line.split()[0]]
            return (
                len(lines) == 9
                and len(customer_log) == 2
                and all(line.split()[-2] == "0" for line in lines)
            )

        wait_for(no_lag, 20, "glow lag to show both logs' consumers caught up", interval=0.5)

        needles = BEA.needles()
        topics = [cluster.topic_prefix + name for name in KAFKA_TOPICS]
        assert in_topics(servers, topics, [customer_id]) == [customer_id]  # the probe sees
        assert in_topics(servers, topics, needles) == []
        assert in_redis(redis_url, needles) == []
        assert in_postgres(cluster.event_store_url, needles) == []
