"""A real uvicorn server in a background thread, and the few calls every HTTP test makes."""

from __future__ import annotations

import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, replace
from typing import Any

import httpx
import psycopg
import uvicorn
from eventsourcing.utils import get_topic

from api.app import create_app
from api.auth import mint_token
from configuration.settings import Settings, eventsourcing_env
from domain.unmet_demand import UnmetDemand
from service_layer.bootstrap import LedgerRuntime, bootstrap

EXPIRY_SOON = "2031-01-31"
EXPIRY_LATER = "2032-06-30"
TEST_JWT_SECRET = "e2e-secret-" + uuid.uuid4().hex
TEST_MASTER_KEY = "dGVzdC1tYXN0ZXIta2V5LW9mLTMyLWJ5dGVzLWxvbmc="  # 32 bytes, tests only


@dataclass(frozen=True)
class RunningLedger:
    base_url: str
    runtime: LedgerRuntime
    app: Any = None

    @property
    def store_url(self) -> str:
        return self.runtime.settings.event_store_url


@contextmanager
def serve(settings: Settings) -> Iterator[RunningLedger]:
    """Bootstrap a runtime and serve it with uvicorn until the block ends.

    Tokens are verified with TEST_JWT_SECRET, which `token` and `headers` sign with."""
    settings = replace(
        settings,
        jwt_secret=settings.jwt_secret or TEST_JWT_SECRET,
        master_key=settings.master_key or TEST_MASTER_KEY,
    )
    runtime = bootstrap(settings)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    app = create_app(runtime)
    config = uvicorn.Config(app, lifespan="on", ws="none", log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            listener.close()
            raise RuntimeError(f"uvicorn did not start on port {port}")
        time.sleep(0.01)
    try:
        yield RunningLedger(f"http://127.0.0.1:{port}", runtime, app)
    finally:
        server.should_exit = True
        thread.join(15)
        listener.close()


def token(role: str = "admin", subject: str = "e2e-tester", **claims: Any) -> str:
    return mint_token(TEST_JWT_SECRET, subject, role, **claims)


def auth_headers(role: str = "admin", **claims: Any) -> dict[str, str]:
    """An Authorization header; an admin by default, who may act on any channel."""
    return {"Authorization": f"Bearer {token(role, **claims)}"}


def headers(key: str | None = None, channel: str = "web") -> dict[str, str]:
    return {"Idempotency-Key": key or str(uuid.uuid4()), "X-Channel": channel, **auth_headers()}


def caller_headers(
    role: str, channel: str, key: str | None = None, subject: str = "e2e-caller", **claims: Any
) -> dict[str, str]:
    """A command's headers for a token of `role` acting on `channel` (the token names the
    channel, except an admin's)."""
    if role != "admin":
        claims.setdefault("channel", channel)
    return {
        "Idempotency-Key": key or str(uuid.uuid4()),
        "X-Channel": channel,
        "Authorization": f"Bearer {token(role, subject, **claims)}",
    }


def post(
    client: httpx.Client, path: str, body: dict[str, Any], key: str | None = None
) -> httpx.Response:
    return client.post(path, json=body, headers=headers(key))


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def count_answers(store_url: str) -> int:
    """Idempotency answers recorded (storage/recorders.py), on either store."""
    return _count_rows(
        store_url, sqlite_table="glow_command_answers", postgres_table="glow_command_answers"
    )


def count_events(store_url: str) -> int:
    """Rows in the event store's events table, read with a connection of our own.

    eventsourcing names it `inventory_events` on PostgreSQL, `stored_events` on SQLite."""
    return _count_rows(store_url, sqlite_table="stored_events", postgres_table="inventory_events")


def _count_rows(store_url: str, *, sqlite_table: str, postgres_table: str) -> int:
    env = eventsourcing_env(store_url)
    if env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite":
        with closing(sqlite3.connect(env["SQLITE_DBNAME"])) as conn:
            row = conn.execute(f"SELECT count(*) FROM {sqlite_table}").fetchone()
    else:
        with psycopg.connect(store_url) as conn:
            row = conn.execute(f"SELECT count(*) FROM {postgres_table}").fetchone()  # type: ignore[call-overload]
    assert row is not None
    return int(row[0])


def unmet_demand(running: RunningLedger) -> list[UnmetDemand.Recorded]:
    """The demand refused for lack of stock the writer recorded, in log order."""
    ledger = running.runtime.ledger
    topics = [get_topic(UnmetDemand.Recorded)]
    return [
        ledger.mapper.to_domain_event(notification)
        for notification in ledger.recorder.select_notifications(1, 1_000_000, topics=topics)
    ]


def define_sku(client: httpx.Client, sku: str, price: str = "12.50") -> None:
    product = {
        "product_code": f"P-{sku}",
        "name": f"Product {sku}",
        "brand": "Glow",
        "category": "lips",
        "variants": [{"sku": sku, "price": price, "shade": "rose"}],
    }
    ok(post(client, "/products", product))


def register_location(client: httpx.Client, code: str) -> None:
    location = {"code": code, "name": code, "kind": "store", "latitude": 48.8, "longitude": 2.3}
    ok(post(client, "/locations", location))


def receive(
    client: httpx.Client, sku: str, location: str, batch: str, quantity: int, expiry: str
) -> dict[str, Any]:
    receipt = {
        "sku": sku,
        "location": location,
        "batch": batch,
        "expiry": expiry,
        "quantity": quantity,
    }
    return ok(post(client, "/stock/receipts", receipt))


def stocked_sku(client: httpx.Client, sku: str, location: str, batches: dict[str, int]) -> None:
    """Define the SKU, register the location, receive each batch (earlier expiry first)."""
    define_sku(client, sku)
    register_location(client, location)
    expiries = [EXPIRY_SOON, EXPIRY_LATER]
    for (batch, quantity), expiry in zip(batches.items(), expiries, strict=False):
        receive(client, sku, location, batch, quantity, expiry)


def refused(
    running: RunningLedger,
    client: httpx.Client,
    path: str,
    body: dict[str, Any],
    status: int = 409,
    caller: dict[str, str] | None = None,
) -> dict[str, Any]:
    """POST a command that must be refused with `status` as problem+json, recording nothing
    (but the unmet demand of a refusal for lack of stock); returns the problem."""
    before = count_events(running.store_url) - len(unmet_demand(running))
    response = client.post(path, json=body, headers=caller or headers())
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert count_events(running.store_url) - len(unmet_demand(running)) == before
    problem: dict[str, Any] = response.json()
    return problem


def eventually(read: Callable[[], Any], accept: Callable[[Any], bool], seconds: float = 60) -> Any:
    """What `read` returns once `accept` takes it, polling every 50 ms for up to `seconds`."""
    deadline = time.monotonic() + seconds
    while not accept(found := read()):
        assert time.monotonic() < deadline, f"still {found}"
        time.sleep(0.05)
    return found
