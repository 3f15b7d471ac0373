"""Rate limits at the edge through HTTP on PostgreSQL: per token subject and per channel, on
the command gateway and on the Starlette routes alike, with the IETF fields on every limited
answer, a till journal paying per line, Redis-backed windows shared by two API processes,
and the writer's own 503 kept apart from a 429."""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import orjson
import pytest
from prometheus_client import REGISTRY

from configuration.settings import Settings
from tests.e2e.conftest import scratch_database
from tests.e2e.ledger_server import (
    EXPIRY_LATER,
    RunningLedger,
    auth_headers,
    caller_headers,
    count_events,
    headers,
    ok,
    receive,
    serve,
    stocked_sku,
    token,
)

SKU, SHOP = "LIP-RL", "SHOP-RL"
LINES = [{"sku": SKU, "location": SHOP, "quantity": 1}]
REDIS_URL = os.environ.get("GLOW_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
POLICY_ITEM = re.compile(r'"(?P<name>[a-z0-9-]+)";q=(?P<q>\d+);w=(?P<w>\d+)')
STATE_ITEM = re.compile(r'"(?P<name>[a-z0-9-]+)";r=(?P<r>\d+);t=(?P<t>\d+)')


def limited(store: str, **limits: Any) -> Settings:
    """Rate limits on; the admin who stocks the shop has room to spare."""
    return Settings(
        event_store_url=store,
        rate_limits=True,
        rate_limit_roles="admin=10000/minute",
        **limits,
    )


def fields(
    response: httpx.Response,
) -> tuple[dict[str, tuple[int, int]], dict[str, tuple[int, int]]]:
    """RateLimit-Policy as {name: (quota, window)} and RateLimit as {name: (remaining, reset)}."""
    policy = {
        m["name"]: (int(m["q"]), int(m["w"]))
        for m in POLICY_ITEM.finditer(response.headers["RateLimit-Policy"])
    }
    state = {
        m["name"]: (int(m["r"]), int(m["t"]))
        for m in STATE_ITEM.finditer(response.headers["RateLimit"])
    }
    return policy, state


def refusals(scope: str) -> float:
    value = REGISTRY.get_sample_value("glow_rate_limit_refusals_total", {"scope": scope})
    return value or 0.0


def sell(client: httpx.Client, subject: str, channel: str = "web") -> httpx.Response:
    caller = caller_headers("channel", channel, subject=subject)
    return client.post("/sales", json={"lines": LINES}, headers=caller)


@pytest.fixture
def shop(postgres_store: str) -> Iterator[RunningLedger]:
    settings = limited(
        postgres_store, rate_limit_per_subject="3/minute", rate_limit_per_channel="1000/minute"
    )
    with serve(settings) as running, httpx.Client(base_url=running.base_url) as client:
        client.headers.update(auth_headers())
        stocked_sku(client, SKU, SHOP, {"B1": 50})
        yield running


def test_a_subject_over_its_limit_gets_a_429_problem_and_nothing_is_recorded(
    shop: RunningLedger,
) -> None:
    before_refusals = refusals("subject")
    with httpx.Client(base_url=shop.base_url, timeout=30) as client:
        answers = [sell(client, "till-app-a", "app") for _ in range(3)]
        for answer, left in zip(answers, (2, 1, 0), strict=True):
            assert answer.status_code == 200, answer.text
            policy, state = fields(answer)
            assert policy == {"subject": (3, 60), "channel": (1000, 60)}
            assert state["subject"][0] == left
            assert 1 <= state["subject"][1] <= 60
            assert state["channel"][0] == 1000 - (3 - left)
        events = count_events(shop.store_url)

        refused = sell(client, "till-app-a", "app")
        other = sell(client, "till-app-b", "app")  # another subject of the same channel

    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["type"] == "/problems/rate-limited"
    assert problem["limit"] == "subject" and problem["quota"] == 3
    assert "3 per minute" in problem["detail"] and "retry after" in problem["detail"]
    retry = int(refused.headers["Retry-After"])
    assert 1 <= retry <= 60 and problem["retry_after"] == retry
    assert fields(refused)[1]["subject"][0] == 0
    assert count_events(shop.store_url) == events + 1  # only the other subject's sale
    assert other.status_code == 200, other.text
    assert refusals("subject") == before_refusals + 1


def test_a_channel_limit_is_shared_by_its_subjects_on_commands_and_queries(
    postgres_store: str,
) -> None:
    settings = limited(postgres_store, rate_limit_channels="app=4/minute")
    before = refusals("channel")
    with serve(settings) as running, httpx.Client(base_url=running.base_url, timeout=30) as client:
        client.headers.update(auth_headers())
        stocked_sku(client, SKU, SHOP, {"B1": 50})
        reader = {"Authorization": f"Bearer {token('channel', 'feed-b', channel='app')}"}
        answers = [
            sell(client, "shop-a", "app"),  # the command gateway
            client.get(f"/skus/{SKU}/stock", headers=reader),  # Starlette
            sell(client, "shop-c", "app"),
            client.get(f"/skus/{SKU}/stock", headers=reader),
        ]
        refused = client.get(f"/skus/{SKU}/stock", headers=reader)
        web = sell(client, "shop-a", "web")  # another channel, its own budget

    assert [a.status_code for a in answers] == [200, 200, 200, 200]
    assert [fields(a)[0]["channel"] for a in answers] == [(4, 60)] * 4
    assert [fields(a)[1]["channel"][0] for a in answers] == [3, 2, 1, 0]
    assert refused.status_code == 429
    assert refused.json()["limit"] == "channel"
    assert "channel 'app'" in refused.json()["detail"]
    assert web.status_code == 200, web.text
    assert fields(web)[0]["channel"] == (2000, 1)
    assert refusals("channel") == before + 1


def test_a_page_of_availability_costs_the_skus_it_names(postgres_store: str) -> None:
    settings = limited(postgres_store, rate_limit_per_subject="20/minute")
    with serve(settings) as running, httpx.Client(base_url=running.base_url, timeout=30) as client:
        reader = {"Authorization": f"Bearer {token('channel', 'page', channel='web')}"}
        first = client.get("/availability", params={"skus": "A,B,C"}, headers=reader)
        second = client.get("/availability", params={"skus": "D"}, headers=reader)

    assert fields(first)[1]["subject"][0] == 17
    assert fields(second)[1]["subject"][0] == 16


def journal(first: int, count: int) -> bytes:
    return b"".join(
        orjson.dumps(
            {
                "seq": seq,
                "type": "sale",
                "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
                "lines": [{"sku": SKU, "quantity": 1}],
            }
        )
        + b"\n"
        for seq in range(first, first + count)
    )


def upload(client: httpx.Client, body: bytes, journal_id: str, subject: str) -> httpx.Response:
    staff = caller_headers("store-staff", "pos", subject=subject, location=SHOP)
    staff.pop("Idempotency-Key")
    return client.post(
        "/tills/TILL-RL/journals",
        content=body,
        headers={**staff, "Journal-Id": journal_id, "Content-Type": "application/x-ndjson"},
    )


def answers_of(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    return [orjson.loads(line) for line in response.content.splitlines()]


def test_a_till_journal_costs_its_lines(postgres_store: str) -> None:
    roles = "admin=10000/minute,store-staff=250/minute"
    with (
        serve(replace(limited(postgres_store), rate_limit_roles=roles)) as running,
        httpx.Client(base_url=running.base_url, timeout=60) as client,
    ):
        client.headers.update(auth_headers())
        stocked_sku(client, SKU, SHOP, {"B1": 100})
        receive(client, SKU, SHOP, "B2", 500, EXPIRY_LATER)
        ok(client.post("/tills", json={"till": "TILL-RL", "location": SHOP}, headers=headers()))
        del client.headers["Authorization"]

        small = upload(client, journal(1, 60), "J-SMALL", "till-7")
        assert [a["outcome"] for a in answers_of(small)[1:-1]] == ["applied"] * 60
        assert fields(small)[1]["subject"][0] == 190

        events = count_events(running.store_url)
        # its first command's 200 lines cost more than the 190 left (the upload paid 1 to come in)
        too_big = upload(client, journal(61, 241), "J-BIG", "till-7")
        assert too_big.status_code == 429, too_big.text
        assert too_big.json()["type"] == "/problems/rate-limited"
        assert int(too_big.headers["Retry-After"]) >= 1
        assert count_events(running.store_url) == events  # nothing of it recorded

        # another till's token: its first command's 200 lines fit in 250, the next 100 do not
        cut = answers_of(upload(client, journal(61, 300), "J-CUT", "till-8"))

    lines = cut[1:-1]
    applied = [a for a in lines if a["outcome"] == "applied"]
    limited_lines = [a for a in lines if a.get("error") == "rate-limited"]
    assert [a["seq"] for a in applied] == list(range(61, 261))
    assert [a["seq"] for a in limited_lines[:-1]] == list(range(261, 361))
    assert "re-upload from line 261" in limited_lines[0]["detail"]
    assert limited_lines[-1]["seq"] is None  # the rest, not read
    assert "'subject'" in limited_lines[-1]["detail"]


def test_two_api_processes_on_one_redis_share_a_subjects_budget() -> None:
    subject = f"shared-{uuid.uuid4().hex[:8]}"
    reader = {"Authorization": f"Bearer {token('channel', subject, channel='web')}"}
    with (
        scratch_database() as first_store,
        scratch_database() as second_store,
        serve(
            limited(
                first_store, rate_limit_per_subject="4/minute", rate_limit_storage_url=REDIS_URL
            )
        ) as first,
        serve(
            limited(
                second_store, rate_limit_per_subject="4/minute", rate_limit_storage_url=REDIS_URL
            )
        ) as second,
        httpx.Client(timeout=30) as client,
    ):
        statuses = []
        for turn in range(5):
            running = (first, second)[turn % 2]
            answer = client.get(f"{running.base_url}/locations", headers=reader)
            statuses.append(answer.status_code)
        last = answer

    assert statuses == [200, 200, 200, 200, 429]
    assert last.json()["limit"] == "subject"


def test_the_writers_overload_answer_stays_a_503(postgres_store: str) -> None:
    from service_layer.writer_client import RemoteWriter

    settings = replace(
        limited(postgres_store, rate_limit_per_subject="1000/minute"), writer_process=True
    )
    with serve(settings) as running, httpx.Client(base_url=running.base_url, timeout=30) as client:
        client.headers.update(auth_headers())
        stocked_sku(client, SKU, SHOP, {"B1": 10})
        writer = running.runtime.writer
        assert isinstance(writer, RemoteWriter)
        writer._process.kill()
        writer._process.join(10)
        deadline = time.monotonic() + 10
        while True:
            busy = sell(client, "till-app-busy")
            if busy.status_code == 503 or time.monotonic() > deadline:
                break
            time.sleep(0.05)

    assert busy.status_code == 503, busy.text
    assert busy.json()["type"] == "/problems/ledger-busy"
    assert "RateLimit" in busy.headers  # charged like any request, and told so


def test_limits_off_by_default_add_no_fields(ledger: RunningLedger) -> None:
    with httpx.Client(base_url=ledger.base_url, headers=auth_headers()) as client:
        answer = client.get("/locations")
    assert answer.status_code == 200
    assert "RateLimit" not in answer.headers and "RateLimit-Policy" not in answer.headers
