"""Forget propagates on the embedded path (PostgreSQL, Redis, chDB, through the API): the
customer log's events reach the customer hot view (a consent change is seen at once), and
`Customer.Forgotten` erases the customer from every read model: their order index, their
published recommendations, their behaviour rows in ClickHouse, down to the bytes on disk; a
rebuild brings none of it back. No personal data is anywhere: PostgreSQL (`pg_dump`), Redis
(every key and value), the chDB folder."""

from __future__ import annotations

import secrets
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from configuration.settings import Settings
from projections.redis_views import RedisHotViews
from recommender.store import RecommendationStore
from streams.log_reader import LogReader
from streams.rebuild import rebuild_hot_views
from tests.e2e.conftest import scratch_database
from tests.e2e.ledger_server import caller_headers, eventually, ok, post, serve
from tests.erasure_proof import (
    PersonalData,
    behaviour_person,
    create_behaviour_tables,
    eventually_absent,
    in_folder,
    in_postgres,
    in_redis,
    record_behaviour,
)
from tests.integration.readside.test_read_side_end_to_end import trade

ADA = PersonalData(
    name="Adeline Quarrington-Vasz",
    email="adeline.qv@example.org",
    phone="+33647190283",
    address_line="17 rue des Quenouilles",
    skin_allergy="METHYLCHLOROISOTHIAZOLINONE",
    feedback_comment="left my cheeks burning for a day",
)
CHDB_SECONDS = 90  # replaced parts leave the disk at ClickHouse's next cleanup (~40 s on chDB)


def as_customer(client: httpx.Client, customer_id: str, path: str, body: dict[str, Any]) -> Any:
    headers = caller_headers("customer", "web", customer_id=customer_id)
    return ok(client.post(path, json=body, headers=headers))


def a_customer_life(client: httpx.Client, person: PersonalData) -> str:
    """Registered with every contact detail, a skin profile, a comment, consents (one
    withdrawn again), an order; returns their id."""
    contact = {
        "name": person.name,
        "email": person.email,
        "phone": person.phone,
        "address": {"line1": person.address_line, "city": "Rennes", "postcode": "35000"},
    }
    headers = caller_headers("channel", "web")
    customer_id = str(ok(client.post("/customers", json=contact, headers=headers))["customer_id"])
    base = f"/customers/{customer_id}"
    as_customer(client, customer_id, f"{base}/skin-profile", {"allergies": [person.skin_allergy]})
    feedback = {"sku": "SERUM-1", "rating": 1, "comment": person.feedback_comment}
    as_customer(client, customer_id, f"{base}/feedback", feedback)
    for purpose in ("analytics", "personalisation", "marketing_email"):
        grant = {"purpose": purpose, "text_version": "2026-01"}
        as_customer(client, customer_id, f"{base}/consents/grant", grant)
    as_customer(client, customer_id, f"{base}/consents/withdraw", {"purpose": "marketing_email"})
    trade(client)
    order = {
        "lines": [{"sku": "SERUM-1", "quantity": 1}],
        "delivery": {"method": "pickup", "store": "PARIS"},
        "customer_id": customer_id,
    }
    ok(post(client, "/orders", order))
    return customer_id


def customer_view(views: RedisHotViews, customer_id: str) -> dict[str, Any] | None:
    return views.read([f"customer:{customer_id}"])[f"customer:{customer_id}"]


def order_index(views: RedisHotViews, customer_id: str) -> list[str]:
    return [order for order, _ in views.ranked(f"orders-customer:{customer_id}", None, 10)]


def test_forget_reaches_every_read_model_of_the_embedded_path(
    redis_url: str, analytics_url: str, chdb_url: str
) -> None:
    namespace = f"glow-test-{secrets.token_hex(4)}"
    hot_views_url = f"{redis_url}?namespace={namespace}"
    chdb_folder = Path(urlsplit(chdb_url).path)
    with (
        scratch_database() as store_url,
        serve(
            Settings(
                event_store_url=store_url, hot_views_url=hot_views_url, analytics_url=analytics_url
            )
        ) as ledger,
        httpx.Client(
            base_url=ledger.base_url, headers=caller_headers("admin", "web"), timeout=30
        ) as client,
    ):
        side = ledger.runtime.read_side
        assert side is not None and side.sinks.facts is not None
        views = side.sinks.hot_views
        assert isinstance(views, RedisHotViews)
        analytics = side.sinks.facts.client
        create_behaviour_tables(analytics)
        customer_id = a_customer_life(client, ADA)
        data_key = ledger.runtime.customers.ledger.vault.data_key(uuid.UUID(customer_id))
        assert data_key is not None
        person = behaviour_person(data_key)
        record_behaviour(analytics, customer_id, person, f"anon-{secrets.token_hex(6)}")
        recommendations = RecommendationStore.from_url(hot_views_url)
        recommendations.publish("v1", {}, {"any": []}, {customer_id: {"skus": ["SERUM-1"]}}, [])

        # Stream consumers see consents: the withdrawal is in the customer view.
        seen = eventually(
            lambda: customer_view(views, customer_id),
            lambda doc: doc is not None and doc["consents"].get("marketing_email") is False,
            seconds=20,
        )
        assert seen["status"] == "active"
        assert seen["consents"] == {
            "analytics": True,
            "personalisation": True,
            "marketing_email": False,
        }
        assert seen["loyalty"] == {"points": 0, "tier": "member"}
        eventually(lambda: order_index(views, customer_id), bool, seconds=20)
        # The probes do find this customer before the forget.
        assert recommendations.customer(customer_id) is not None
        assert in_folder(chdb_folder, [person, customer_id]) == [person, customer_id]
        assert in_redis(redis_url, [customer_id]) == [customer_id]
        assert in_postgres(store_url, [customer_id]) == [customer_id]

        as_customer(client, customer_id, f"/customers/{customer_id}/forget", {})

        gone = eventually(
            lambda: customer_view(views, customer_id),
            lambda doc: doc is not None and doc["status"] == "forgotten",
            seconds=20,
        )
        assert set(gone) == {"status", "version"}  # no consents, no loyalty
        assert order_index(views, customer_id) == []
        assert recommendations.customer(customer_id) is None
        rows = analytics.query(
            "SELECT count() FROM behaviour_events WHERE person = {p:String}",
            parameters={"p": person},
        ).result_rows
        assert rows == [(0,)]
        assert analytics.query("SELECT count() FROM behaviour_events").result_rows == [(1,)]
        assert analytics.query("SELECT count() FROM behaviour_people").result_rows == [(0,)]

        # A rebuild of the hot views replays both logs: the index does not come back.
        rebuild_hot_views(
            side.reader,
            views,
            show=False,
            customers=LogReader(ledger.runtime.customers.ledger),
        )
        assert order_index(views, customer_id) == []
        rebuilt = customer_view(views, customer_id)
        assert rebuilt is not None and set(rebuilt) == {"status", "version"}

        needles = ADA.needles()
        assert in_postgres(store_url, needles) == []
        assert in_redis(redis_url, [*needles, person]) == []
        left = eventually_absent(
            lambda: in_folder(chdb_folder, [*needles, person, customer_id]), CHDB_SECONDS
        )
        assert left == []
    RedisHotViews.from_url(redis_url, namespace).drop_everything()
