"""Orders placed over HTTP on PostgreSQL are listed from the order read model (Redis, and the
embedded in-process store): by each filter a page at a time, the status moving as the order
does, only what the caller may read, a customer's history newest first and in their export,
nothing listed as a forgotten customer's; a rebuild from the log gives the same views."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from configuration.settings import Settings
from projections.redis_views import RedisHotViews
from streams.rebuild import rebuild_hot_views
from tests.e2e.conftest import scratch_database
from tests.e2e.ledger_server import (
    RunningLedger,
    auth_headers,
    caller_headers,
    eventually,
    ok,
    serve,
)
from tests.e2e.test_api_customer_export import register_named
from tests.e2e.test_api_customers import as_customer, get, send
from tests.e2e.test_api_orders import HOME, LIP, PICKUP, SERUM, SHOP, SOUTH, act, seed

WEB = caller_headers("channel", "web")


@contextmanager
def ledger_projecting_into(views: str, redis_url: str) -> Iterator[RunningLedger]:
    """A ledger on a scratch PostgreSQL database whose hot views are Redis or in process."""
    namespace = f"glow-test-{secrets.token_hex(4)}"
    url = f"{redis_url}?namespace={namespace}" if views == "redis" else "memory://"
    with scratch_database() as store_url:
        with serve(Settings(event_store_url=store_url, hot_views_url=url)) as ledger:
            yield ledger
        if views == "redis":
            RedisHotViews.from_url(redis_url, namespace).drop_everything()


@pytest.fixture(params=["redis", "memory"])
def running(request: pytest.FixtureRequest, redis_url: str) -> Iterator[RunningLedger]:
    with ledger_projecting_into(request.param, redis_url) as ledger:
        yield ledger


@pytest.fixture
def shop(running: RunningLedger) -> Iterator[httpx.Client]:
    with httpx.Client(headers=auth_headers(), base_url=running.base_url, timeout=30) as client:
        seed(client)
        yield client


def place(
    client: httpx.Client,
    *lines: tuple[str, int],
    who: dict[str, str] | None = None,
    delivery: dict[str, Any] = HOME,
    customer: str | None = None,
) -> str:
    body: dict[str, Any] = {
        "lines": [{"sku": sku, "quantity": n} for sku, n in lines],
        "delivery": delivery,
    }
    if customer:
        body["customer_id"] = customer
    headers = {**(who or WEB), "Idempotency-Key": str(uuid.uuid4())}
    return str(ok(client.post("/orders", json=body, headers=headers))["order_id"])


def listed(client: httpx.Client, path: str = "/orders", **params: Any) -> dict[str, Any]:
    """The answer once the read model has caught up with the ledger."""
    deadline = time.monotonic() + 20
    while True:
        body = ok(client.get(path, params=params))
        if body["log"]["behind"] == 0 or time.monotonic() > deadline:
            assert body["source"] == "projected"
            return body
        time.sleep(0.05)


def ids(answer: dict[str, Any]) -> list[str]:
    return [order["order_id"] for order in answer["orders"]]


def every_page(client: httpx.Client, **params: Any) -> list[str]:
    found, after = [], 0
    while after is not None:
        page = listed(client, **params, after=after, limit=2)
        assert len(page["orders"]) <= 2
        found += ids(page)
        after = page["next_after"]
    return found


def test_orders_are_listed_by_each_filter_a_page_at_a_time(shop: httpx.Client) -> None:
    customer = str(uuid.uuid4())
    app = caller_headers("channel", "app")
    first = place(shop, (LIP, 1), customer=customer)
    by_app = place(shop, (SERUM, 1), who=app)
    pickup = place(shop, (LIP, 1), delivery=PICKUP, customer=customer)
    last = place(shop, (SERUM, 2))
    assert every_page(shop) == [first, by_app, pickup, last]
    assert every_page(shop, channel="web") == [first, pickup, last]
    assert ids(listed(shop, channel="app")) == [by_app]
    assert every_page(shop, customer_id=customer) == [first, pickup]
    assert every_page(shop, status="sourced") == [first, by_app, pickup, last]
    assert ids(listed(shop, location=SOUTH)) == [by_app, last]
    assert pickup in ids(listed(shop, location=SHOP))
    assert ids(listed(shop, customer_id=customer, channel="app")) == []
    summary = listed(shop, customer_id=customer)["orders"][1]
    assert summary["delivery"] == {"method": "pickup", "store": SHOP}
    assert summary["totals"] == {"items": 1, "value": "12.50", "refunded": "0"}
    assert [f["location"] for f in summary["fulfilments"]] == [SHOP]


def test_the_status_index_moves_as_orders_progress_and_are_cancelled(shop: httpx.Client) -> None:
    started, cancelled, kept = (place(shop, (SERUM, 1)) for _ in range(3))
    fulfilment = ok(shop.get(f"/orders/{started}"))["fulfilments"][0]["fulfilment_id"]
    ok(act(shop, f"/orders/{started}/fulfilments/{fulfilment}/steps", {"step": "picking"}))
    ok(act(shop, f"/orders/{cancelled}/cancel"))
    assert ids(listed(shop, status="sourced")) == [kept]
    assert ids(listed(shop, status="in_fulfilment")) == [started]
    assert ids(listed(shop, status="cancelled")) == [cancelled]
    view = listed(shop, status="cancelled")["orders"][0]
    assert view["status"] == ok(shop.get(f"/orders/{cancelled}"))["status"] == "cancelled"


def test_each_caller_lists_only_the_orders_it_may_read(shop: httpx.Client) -> None:
    web_order = place(shop, (LIP, 1), delivery=PICKUP)
    app_order = place(shop, (SERUM, 1), who=caller_headers("channel", "app"))
    listed(shop)  # caught up

    def as_caller(role: str, **claims: str) -> httpx.Response:
        return shop.get("/orders", headers=auth_headers(role, **claims))

    assert ids(ok(as_caller("channel", channel="app"))) == [app_order]
    refused = shop.get("/orders?channel=web", headers=auth_headers("channel", channel="app"))
    assert refused.status_code == 403 and "its own channel" in refused.json()["detail"]
    staff = {"channel": "pos", "location": SHOP}
    assert ids(ok(as_caller("store-staff", **staff))) == [web_order]
    elsewhere = shop.get(f"/orders?location={SOUTH}", headers=auth_headers("store-staff", **staff))
    assert elsewhere.status_code == 403
    assert ids(ok(as_caller("auditor"))) == [web_order, app_order]
    assert as_caller("customer", customer_id=str(uuid.uuid4()), channel="web").status_code == 403


@pytest.mark.parametrize(
    "params",
    [
        {"status": "lost"},
        {"customer_id": "not-a-uuid"},
        {"channel": "fax"},
        {"limit": "0"},
        {"limit": "201"},
        {"after": "-1"},
        {"location": "no spaces"},
    ],
)
def test_bad_query_parameters_are_a_422_naming_the_parameter(
    shop: httpx.Client, params: dict[str, str]
) -> None:
    refused = shop.get("/orders", params=params)
    assert refused.status_code == 422, refused.text
    [name] = params
    assert refused.json()["parameter"] == name and "expected" in refused.json()["detail"]


def test_a_customers_orders_come_newest_first_to_them_and_in_their_export(
    shop: httpx.Client,
) -> None:
    mine, other = register_named(shop, "Mine"), register_named(shop, "Other")
    placed = [place(shop, (LIP, 1), customer=mine) for _ in range(3)]
    place(shop, (SERUM, 1), customer=other)
    history = listed(shop, f"/customers/{mine}/orders")
    assert ids(history) == placed[::-1] and history["next_before"] is None
    page = listed(shop, f"/customers/{mine}/orders", limit=2)
    rest = listed(shop, f"/customers/{mine}/orders", limit=2, before=page["next_before"])
    assert ids(page) + ids(rest) == placed[::-1]
    theirs = get(shop, f"/customers/{mine}/orders", as_customer(mine))
    assert ids(ok(theirs)) == placed[::-1]
    assert get(shop, f"/customers/{mine}/orders", as_customer(other)).status_code == 403
    app = {"role": "channel", "channel": "app"}
    assert ids(ok(get(shop, f"/customers/{mine}/orders", app))) == []
    export = ok(get(shop, f"/customers/{mine}/export", as_customer(mine)))
    assert ids(export["orders"]) == placed[::-1] and "purchases_and_returns" in export
    unknown = get(shop, f"/customers/{uuid.uuid4()}/orders", {"role": "admin"})
    assert unknown.status_code == 404


def test_a_forgotten_customer_has_no_order_history_left_in_the_read_model(
    shop: httpx.Client, running: RunningLedger
) -> None:
    gone = register_named(shop, "Gone")
    order = place(shop, (LIP, 1), customer=gone)
    assert ids(listed(shop, f"/customers/{gone}/orders")) == [order]
    ok(send(shop, f"/customers/{gone}/forget", {}, as_customer(gone)))
    assert ids(listed(shop, f"/customers/{gone}/orders")) == []
    assert ids(listed(shop, customer_id=gone)) == []
    assert ok(get(shop, f"/customers/{gone}/export", {"role": "admin"}))["orders"]["orders"] == []
    side = running.runtime.read_side
    assert side is not None and side.sinks.hot_views is not None
    views = side.sinks.hot_views
    # The API hides them at once; the read model's own index goes when the follower has read
    # the forget from the customer log (asynchronously).
    eventually(lambda: views.ranked(f"orders-customer:{gone}", None, 10), lambda r: r == [], 20)
    assert order in ids(listed(shop))  # the order itself stays, as the ledger keeps it


def test_a_rebuild_from_the_log_gives_the_same_order_views(redis_url: str) -> None:
    with (
        ledger_projecting_into("redis", redis_url) as running,
        httpx.Client(headers=auth_headers(), base_url=running.base_url, timeout=30) as shop,
    ):
        seed(shop)
        for n in range(3):
            place(shop, (LIP, 1), customer=str(uuid.uuid4()), delivery=PICKUP if n else HOME)
        side = running.runtime.read_side
        assert side is not None and isinstance(side.sinks.hot_views, RedisHotViews)
        views = side.sinks.hot_views
        before = listed(shop)["orders"]
        live = {k: v for k, v in views.all_documents().items() if k.startswith("order:")}
        rebuild_hot_views(side.reader, views, show=False)
        assert {k: v for k, v in views.all_documents().items() if k.startswith("order:")} == live
        assert listed(shop)["orders"] == before and len(before) == 3
