"""Behaviour tracking over HTTP into chDB (the embedded path: a real server on PostgreSQL,
its buffer writing the API process's own chDB): consent decides rows or counts, withdrawal
and forget stop identified collection at once, anonymous sessions are stitched at login,
the tracking plan blocks or passes violations, and bad input records nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from clickhouse_connect.driver.client import Client

from configuration.settings import Settings
from projections.behaviour_queries import customer_person, person_events
from tests.e2e.ledger_server import RunningLedger, auth_headers, ok, serve

pytestmark = pytest.mark.postgres

WEB = {"role": "channel", "channel": "web"}
SHOP = {"role": "channel", "channel": "web", "subject": "shop-frontend"}


@pytest.fixture
def tracked(postgres_store: str, tmp_path: Path) -> Iterator[RunningLedger]:
    settings = Settings(
        event_store_url=postgres_store,
        analytics_url=f"chdb://{tmp_path / 'chdb'}",
        track_flush_seconds=0.05,
    )
    with serve(settings) as running:
        yield running


@pytest.fixture
def client(tracked: RunningLedger) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=tracked.base_url, timeout=30) as http:
        yield http


def who(role: str = "channel", **claims: Any) -> dict[str, str]:
    if role == "channel":
        claims.setdefault("channel", "web")
    subject = claims.pop("subject", "e2e-tester")
    return auth_headers(role, subject=subject, **claims)


def track(client: httpx.Client, body: dict[str, Any], **token: Any) -> httpx.Response:
    return client.post("/track", json=body, headers=who(**token))


def batch(client: httpx.Client, events: list[dict[str, Any]], **token: Any) -> dict[str, Any]:
    response = client.post("/track/batch", json={"batch": events}, headers=who(**token))
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


def chdb(running: RunningLedger) -> Client:
    side = running.runtime.read_side
    assert side is not None and side.sinks.facts is not None
    return side.sinks.facts.client


def rows(running: RunningLedger, where: str = "1", **parameters: Any) -> list[dict[str, Any]]:
    result = chdb(running).query(
        f"SELECT * FROM behaviour_events FINAL WHERE {where} ORDER BY occurred_at",
        parameters=parameters,
    )
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]


def counted(running: RunningLedger, event: str, sku: str = "") -> int:
    found = (
        chdb(running)
        .query(
            "SELECT sum(events) FROM behaviour_aggregates"
            " WHERE event = {e:String} AND sku = {s:String}",
            parameters={"e": event, "s": sku},
        )
        .result_rows
    )
    return int(found[0][0] or 0)


def flushed(running: RunningLedger) -> None:
    """Every row sent so far written (rows are then queryable): the flusher's own write in
    progress is waited for by flush(), which then writes what is left."""
    ingestion = running.runtime.behaviour
    assert ingestion is not None and ingestion.buffer is not None
    assert ingestion.buffer.flush()
    assert ingestion.buffer.waiting() == 0


def viewed(sku: str, **more: Any) -> dict[str, Any]:
    return {"event": "product_viewed", "properties": {"sku": sku}, **more}


def register(client: httpx.Client) -> str:
    body = {"name": "Maëlys Trégoat-Vannier", "email": f"maelys.{uuid.uuid4().hex[:8]}@example.org"}
    response = client.post(
        "/customers",
        json=body,
        headers={"Idempotency-Key": str(uuid.uuid4()), "X-Channel": "web", **who()},
    )
    return str(ok(response)["customer_id"])


def consent(client: httpx.Client, customer_id: str, action: str) -> None:
    body: dict[str, Any] = {"purpose": "analytics"}
    if action == "grant":
        body["text_version"] = "2026-11"
    response = client.post(
        f"/customers/{customer_id}/consents/{action}",
        json=body,
        headers={"Idempotency-Key": str(uuid.uuid4()), "X-Channel": "web", **who()},
    )
    ok(response)


def test_an_anonymous_visitor_is_a_row_only_with_the_cookie_banners_consent(
    tracked: RunningLedger, client: httpx.Client
) -> None:
    yes = {"consent": {"analytics": True}}
    no = {"consent": {"analytics": False}}
    answer = batch(
        client,
        [
            viewed("ROSE-SERUM", anonymous_id="device-yes", context=yes),
            viewed("ROSE-SERUM", anonymous_id="device-no", context=no),
            viewed("ROSE-SERUM", anonymous_id="device-unsaid"),
        ],
    )
    assert answer == {
        "received": 3,
        "accepted": 1,
        "aggregated_only": 2,
        "violations": 0,
        "blocked": 0,
        "problems": [],
    }
    flushed(tracked)
    kept = rows(tracked)
    assert [(r["anonymous_id"], r["person"], r["sku"], r["channel"]) for r in kept] == [
        ("device-yes", "", "ROSE-SERUM", "web")
    ]
    assert counted(tracked, "product_viewed", "ROSE-SERUM") == 3


def test_withdrawing_analytics_consent_stops_identified_collection_at_once(
    tracked: RunningLedger, client: httpx.Client
) -> None:
    customer_id = register(client)
    as_her = {"role": "customer", "customer_id": customer_id}
    assert track(client, viewed("OAT-BALM"), **as_her).json()["aggregated_only"] == 1
    consent(client, customer_id, "grant")
    assert track(client, viewed("OAT-BALM"), **as_her).json()["accepted"] == 1
    consent(client, customer_id, "withdraw")
    after = track(client, viewed("OAT-BALM"), **as_her)  # the very next request
    assert after.status_code == 202 and after.json()["aggregated_only"] == 1
    flushed(tracked)
    person = customer_person(chdb(tracked), customer_id)
    assert person is not None and len(person) == 32
    assert [r["sku"] for r in rows(tracked)] == ["OAT-BALM"]  # only the consented one
    assert [r["person"] for r in rows(tracked)] == [person]
    assert counted(tracked, "product_viewed", "OAT-BALM") == 3
    assert customer_id not in str(rows(tracked))  # the pseudonym, never the id


def test_a_forgotten_or_unknown_customer_is_only_counted(
    tracked: RunningLedger, client: httpx.Client
) -> None:
    customer_id = register(client)
    consent(client, customer_id, "grant")
    forget = client.post(
        f"/customers/{customer_id}/forget",
        json={},
        headers={"Idempotency-Key": str(uuid.uuid4()), "X-Channel": "web", **who("admin")},
    )
    ok(forget)
    stranger = str(uuid.uuid4())
    answer = batch(
        client,
        [viewed("CICA-MASK", customer_id=customer_id), viewed("CICA-MASK", customer_id=stranger)],
    )
    assert (answer["accepted"], answer["aggregated_only"]) == (0, 2)
    flushed(tracked)
    assert rows(tracked) == []
    assert counted(tracked, "product_viewed", "CICA-MASK") == 2


def test_an_anonymous_session_is_stitched_to_the_customer_at_login(
    tracked: RunningLedger, client: httpx.Client
) -> None:
    customer_id = register(client)
    consent(client, customer_id, "grant")
    cookie = {"consent": {"analytics": True}}
    before = [
        viewed("NIGHT-CREAM", anonymous_id="phone-17", context=cookie, timestamp=moment)
        for moment in ("2026-12-01T09:00:00Z", "2026-12-01T09:01:00Z")
    ]
    batch(client, before)
    login = viewed("NIGHT-CREAM", anonymous_id="phone-17", customer_id=customer_id)
    assert batch(client, [login])["accepted"] == 1
    other = register(client)
    consent(client, other, "grant")  # another person logging in on the same phone: not merged
    batch(client, [viewed("NIGHT-CREAM", anonymous_id="phone-17", customer_id=other)])
    flushed(tracked)
    person = customer_person(chdb(tracked), customer_id)
    assert person is not None
    seen = person_events(chdb(tracked), person)
    assert len(seen) == 3  # the two anonymous views before the login are hers now
    assert [e["anonymous_id"] for e in seen] == ["phone-17"] * 3
    second = customer_person(chdb(tracked), other)
    assert second is not None and len(person_events(chdb(tracked), second)) == 1
    report = client.get("/tracking/violations", headers=who("analyst")).json()
    assert report["stitches_refused"] == {"other_person": 1}


def test_a_message_id_sent_twice_is_one_row(tracked: RunningLedger, client: httpx.Client) -> None:
    event = viewed("SPF-50", anonymous_id="tab-3", context={"consent": {"analytics": True}})
    event["message_id"] = "msg-0001"
    batch(client, [event])
    batch(client, [event])
    flushed(tracked)
    assert len(rows(tracked)) == 1


def test_the_tracking_plan_blocks_violations_and_counts_them(
    tracked: RunningLedger, client: httpx.Client
) -> None:
    cookie = {"consent": {"analytics": True}}
    answer = batch(
        client,
        [
            {"event": "product_viewed", "properties": {}, "anonymous_id": "a", "context": cookie},
            {"event": "product_viewed", "properties": {"sku": 7}, "anonymous_id": "a"},
            {"event": "product_teleported", "properties": {}, "anonymous_id": "a"},
            {"event": "page_viewed", "properties": {"path": "/", "mood": "x"}, "anonymous_id": "a"},
            viewed("GOOD-1", anonymous_id="a", context=cookie),
        ],
    )
    assert (answer["accepted"], answer["violations"], answer["blocked"]) == (1, 4, 4)
    kinds = [(p["index"], p["kind"], p["property"]) for p in answer["problems"]]
    assert kinds == [
        (0, "missing_property", "sku"),
        (1, "wrong_type", "sku"),
        (2, "unknown_event", ""),
        (3, "unplanned_property", "mood"),
    ]
    assert "expected" in answer["problems"][2]["detail"]
    flushed(tracked)
    assert [r["sku"] for r in rows(tracked)] == ["GOOD-1"]
    report = client.get("/tracking/violations", headers=who("analyst"))
    assert report.status_code == 200, report.text
    found = {
        (v["event"], v["kind"], v["outcome"]): v["events"] for v in report.json()["violations"]
    }
    assert found == {
        ("product_viewed", "missing_property", "blocked"): 1,
        ("product_viewed", "wrong_type", "blocked"): 1,
        ("product_teleported", "unknown_event", "blocked"): 1,
        ("page_viewed", "unplanned_property", "blocked"): 1,
    }
    assert client.get("/tracking/violations", headers=who()).status_code == 403


def test_passed_violations_are_stored_flagged_and_free_text_never(
    postgres_store: str, tmp_path: Path
) -> None:
    settings = Settings(
        event_store_url=postgres_store,
        analytics_url=f"chdb://{tmp_path / 'chdb'}",
        tracking_violations="pass",
    )
    with (
        serve(replace(settings, track_flush_seconds=0.05)) as running,
        httpx.Client(base_url=running.base_url, timeout=30) as client,
    ):
        cookie = {"consent": {"analytics": True}}
        searched = {"query": "serum for ysolde@example.org", "results": 4}
        answer = batch(
            client,
            [
                {
                    "event": "product_viewed",
                    "properties": {"sku": "X", "mood": "secret"},
                    "anonymous_id": "a",
                    "context": cookie,
                },
                {
                    "event": "products_searched",
                    "properties": searched,
                    "anonymous_id": "a",
                    "context": cookie,
                },
            ],
        )
        assert (answer["accepted"], answer["violations"], answer["blocked"]) == (2, 1, 0)
        flushed(running)
        kept = {r["event"]: r for r in rows(running)}
        assert kept["product_viewed"]["violation"] == "unplanned_property"
        assert kept["product_viewed"]["properties"] == '{"sku":"X"}'
        assert kept["products_searched"]["violation"] == ""
        assert kept["products_searched"]["properties"] == '{"results":4}'
        assert "example.org" not in str(rows(running))


def test_bad_input_is_a_problem_and_records_nothing(
    tracked: RunningLedger, client: httpx.Client
) -> None:
    someone = str(uuid.uuid4())
    cases: list[tuple[str, Any, dict[str, Any], int, str]] = [
        ("/track", b"{not json", {}, 400, "not valid JSON"),
        ("/track/batch", {"batch": []}, {}, 422, "batch"),
        (
            "/track",
            {"event": "product_viewed", "properties": {"sku": "A"}},
            {},
            422,
            "anonymous_id",
        ),
        ("/track", viewed("A", anonymous_id="x", surprise=1), {}, 422, "surprise"),
        (
            "/track",
            viewed("A", anonymous_id="x", timestamp="2999-01-01T00:00:00Z"),
            {},
            422,
            "future",
        ),
        ("/track", viewed("A", anonymous_id="x", timestamp="yesterday"), {}, 422, "ISO 8601"),
        (
            "/track",
            viewed("A", customer_id=someone),
            {"role": "customer", "customer_id": str(uuid.uuid4())},
            403,
            "own customer",
        ),
    ]
    for path, body, token, status, says in cases:
        headers = who(**token) if token else who()
        if isinstance(body, bytes):
            response = client.post(
                path, content=body, headers={**headers, "Content-Type": "application/json"}
            )
        else:
            response = client.post(path, json=body, headers=headers)
        assert response.status_code == status, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert says in response.json()["detail"], response.json()
    too_many = [viewed("A", anonymous_id="x")] * 501
    response = client.post("/track/batch", json={"batch": too_many}, headers=who())
    assert response.status_code == 422 and "GLOW_TRACK_MAX_BATCH" in response.json()["detail"]
    assert client.post("/track", json=viewed("A", anonymous_id="x")).status_code == 401
    flushed(tracked)
    assert rows(tracked) == []
    assert counted(tracked, "product_viewed", "A") == 0
