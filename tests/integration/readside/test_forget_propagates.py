"""Forget propagates on the embedded path (PostgreSQL, Redis, chDB, through the API): the
customer log's events reach the customer hot view (a consent change is seen at once), and
`Customer.Forgotten` erases the customer from every read model: their order index, their
published recommendations, their behaviour (tracked through `POST /track/batch`), their
purchases and customer-dimension rows (so no audience holds them, as of any moment); a
rebuild brings none of it back. No personal data is anywhere afterwards
(contacts, allergy, feedback comment, a survey's free-text answer, a support contact's notes):
PostgreSQL (`pg_dump`), Redis (every key and value), the chDB folder."""

from __future__ import annotations

import base64
import os
import secrets
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from standardwebhooks.webhooks import Webhook

from configuration.settings import Settings
from privacy.pseudonyms import behaviour_person
from projections.redis_views import RedisHotViews
from recommender.store import RecommendationStore
from streams.log_reader import LogReader
from streams.rebuild import rebuild_hot_views
from tests.e2e.conftest import scratch_database
from tests.e2e.ledger_server import caller_headers, eventually, ok, post, serve
from tests.erasure_proof import (
    PersonalData,
    in_folder,
    in_postgres,
    in_redis,
)
from tests.integration.readside.test_read_side_end_to_end import trade

ADA = PersonalData(
    name="Adeline Quarrington-Vasz",
    email="adeline.qv@example.org",
    phone="+33647190283",
    address_line="17 rue des Quenouilles",
    skin_allergy="METHYLCHLOROISOTHIAZOLINONE",
    feedback_comment="left my cheeks burning for a day",
    free_text=(
        "the toner stings like nettles-kq4 every morning",  # a survey's text answer
        "rang about a rash-wp8 on her jawline; refund offered",  # a support contact's notes
    ),
)
SURVEY_SECRET = "whsec_" + base64.b64encode(os.urandom(32)).decode()


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
    survey_answer(client, customer_id, person.free_text[0])
    notes = {
        "channel": "phone",
        "topic": "skin-reaction",
        "outcome": "follow-up",
        "agent": "agent-0042",
        "notes": person.free_text[1],
        "occurred_at": datetime.now(tz=UTC).isoformat(),
    }
    ok(client.post(f"{base}/support-contacts", json=notes))
    return customer_id


def survey_answer(client: httpx.Client, customer_id: str, text: str) -> None:
    """A survey tool's signed webhook (the Standard Webhooks library's own signer)."""
    raw = orjson.dumps(
        {
            "survey_id": "skin-check",
            "question_id": "q-feel",
            "question_kind": "text",
            "answer": text,
            "customer_id": customer_id,
            "answered_at": datetime.now(tz=UTC).isoformat(),
        }
    )
    msg_id, moment = f"msg_{uuid.uuid4().hex}", datetime.now(tz=UTC)
    headers = {
        "Authorization": "",
        "Content-Type": "application/json",
        "X-Survey-Source": "polls",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": Webhook(SURVEY_SECRET).sign(msg_id, moment, raw),
    }
    ok(client.post("/feedback/surveys", content=raw, headers=headers))


def browse(client: httpx.Client, customer_id: str, anonymous_id: str) -> None:
    """Browsing before login (an anonymous session, cookie consent) and at login (stitched)."""
    viewed = {"event": "product_viewed", "properties": {"sku": "SERUM-1"}}
    events = [
        {**viewed, "anonymous_id": anonymous_id, "context": {"consent": {"analytics": True}}},
        {**viewed, "anonymous_id": anonymous_id, "customer_id": customer_id},
        {**viewed, "customer_id": customer_id},
        {
            **viewed,
            "anonymous_id": "anon-someone-else",
            "context": {"consent": {"analytics": True}},
        },
    ]
    response = client.post("/track/batch", json={"batch": events})
    assert response.status_code == 202 and response.json()["accepted"] == 4, response.text


def audience_members(client: httpx.Client, as_of: str | None = None) -> list[str]:
    params = {"as_of": as_of} if as_of else {}
    members = ok(client.get("/segments/audiences/everyone/members", params=params))["members"]
    return [str(member) for member in members]


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
                event_store_url=store_url,
                hot_views_url=hot_views_url,
                analytics_url=analytics_url,
                survey_webhook_secrets=f"polls:{SURVEY_SECRET}",
                track_flush_seconds=0.05,
                segments_refresh_seconds=0.2,
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
        customer_id = a_customer_life(client, ADA)
        data_key = ledger.runtime.customers.ledger.vault.data_key(uuid.UUID(customer_id))
        assert data_key is not None
        person = behaviour_person(data_key)
        anonymous_id = f"anon-{secrets.token_hex(6)}"
        browse(client, customer_id, anonymous_id)
        buyers = [{"trait": "orders", "op": ">=", "value": 1}]
        audience = {"name": "everyone", "purpose": "analytics", "conditions": buyers}
        assert client.post("/segments/audiences", json=audience).status_code == 201
        eventually(lambda: audience_members(client), lambda found: customer_id in found, 20)
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
        eventually(
            lambda: (
                analytics.query(
                    "SELECT count() FROM behaviour_events WHERE person = {p:String}",
                    parameters={"p": person},
                ).result_rows
            ),
            lambda rows: rows == [(2,)],
            seconds=20,
        )
        assert in_folder(chdb_folder, [person, customer_id]) == [person, customer_id]
        assert in_redis(redis_url, [customer_id]) == [customer_id]
        assert in_postgres(store_url, [customer_id]) == [customer_id]

        moment_before = datetime.now(tz=UTC).isoformat()
        assert customer_id in audience_members(client, moment_before)
        as_customer(client, customer_id, f"/customers/{customer_id}/forget", {})

        gone = eventually(
            lambda: customer_view(views, customer_id),
            lambda doc: doc is not None and doc["status"] == "forgotten",
            seconds=20,
        )
        assert set(gone) == {"status", "version"}  # no consents, no loyalty
        assert order_index(views, customer_id) == []
        assert recommendations.customer(customer_id) is None

        def customer_rows() -> dict[str, int]:
            """Rows naming her (or her pseudonym) in each ClickHouse table; the facts sink
            erases them once it projects her forget, after the hot views may have."""
            found = {}
            for table, column, value in (
                ("behaviour_events", "person", person),
                ("behaviour_identities", "person", person),
                ("behaviour_people", "customer_id", customer_id),
                ("customer_orders", "customer_id", customer_id),
                ("customer_dimension", "customer_id", customer_id),
            ):
                found[table] = analytics.query(
                    f"SELECT count() FROM {table} WHERE {column} = {{v:String}}",
                    parameters={"v": value},
                ).result_rows[0][0]
            return found

        left = eventually(customer_rows, lambda found: not any(found.values()), seconds=30)
        assert not any(left.values()), left
        # Only the stranger's session is left: hers and the one stitched to her are gone.
        left_rows = analytics.query("SELECT anonymous_id FROM behaviour_events").result_rows
        assert left_rows == [("anon-someone-else",)]
        assert customer_id not in audience_members(client)
        assert customer_id not in audience_members(client, moment_before)  # as of any moment

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
        # Personal data never reached ClickHouse's files; her pseudonym and id are out of
        # every active part (the queries above). That the replaced parts then leave the disk
        # is proven in test_behaviour_tables.py (seconds alone; about 40 s inside glow serve).
        assert in_folder(chdb_folder, needles) == []
    RedisHotViews.from_url(redis_url, namespace).drop_everything()
