"""One Idempotency-Key, one effect: concurrent repeats, a changed body, and a restart."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import WRITERS
from tests.e2e.ledger_server import (
    TEST_JWT_SECRET,
    TEST_MASTER_KEY,
    RunningLedger,
    auth_headers,
    count_answers,
    count_events,
    headers,
    stocked_sku,
)

SKU, SHOP = "SERUM-IDEM", "LYON-1"
LINES = [{"sku": SKU, "location": SHOP, "quantity": 2}]


def _send_five_times(base_url: str, path: str, body: dict[str, Any]) -> list[httpx.Response]:
    key = str(uuid.uuid4())

    def send(_: int) -> httpx.Response:
        with httpx.Client(headers=auth_headers(), base_url=base_url, timeout=30) as client:
            return client.post(path, json=body, headers=headers(key))

    with ThreadPoolExecutor(5) as pool:
        return list(pool.map(send, range(5)))


@pytest.mark.parametrize(
    ("path", "body", "status", "events"),
    [
        ("/reservations", {"lines": LINES}, 201, 2),  # Reserved, Placed
        ("/sales", {"lines": LINES}, 200, 1),  # Sold
    ],
)
@WRITERS
def test_a_command_sent_five_times_at_once_with_one_key_is_applied_once(
    ledger: RunningLedger,
    client: httpx.Client,
    path: str,
    body: dict[str, Any],
    status: int,
    events: int,
) -> None:
    stocked_sku(client, SKU, SHOP, {"B1": 10})
    before = count_events(ledger.store_url)
    answers_before = count_answers(ledger.store_url)

    responses = _send_five_times(ledger.base_url, path, body)

    assert count_events(ledger.store_url) == before + events
    assert count_answers(ledger.store_url) == answers_before + 1
    assert {r.status_code for r in responses} == {status}
    assert len({r.content for r in responses}) == 1
    replayed = [r.headers.get("idempotent-replayed") for r in responses]
    assert Counter(replayed) == {"true": 4, None: 1}
    assert client.get(f"/skus/{SKU}/stock").json()["available"] == 8


@WRITERS
def test_the_same_key_with_a_different_body_is_refused_and_changes_nothing(
    ledger: RunningLedger, client: httpx.Client, tmp_path: Path
) -> None:
    stocked_sku(client, SKU, SHOP, {"B1": 10})
    key = str(uuid.uuid4())
    first = client.post("/sales", json={"lines": LINES}, headers=headers(key))
    assert first.status_code == 200
    before = count_events(ledger.store_url)

    other = [{**LINES[0], "quantity": 3}]
    second = client.post("/sales", json={"lines": other}, headers=headers(key))

    assert second.status_code == 409
    assert second.headers["content-type"] == "application/problem+json"
    assert second.json()["type"] == "/problems/idempotency-key-reused"
    assert key in second.json()["detail"]
    assert count_events(ledger.store_url) == before


@contextmanager
def _glow_serve(store_url: str, log: Path) -> Iterator[str]:
    """`glow serve` in a process of its own, on a free port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    glow = Path(sys.executable).parent / "glow"
    env = {
        **os.environ,
        "GLOW_EVENT_STORE_URL": store_url,
        "GLOW_JWT_SECRET": TEST_JWT_SECRET,
        "GLOW_MASTER_KEY": TEST_MASTER_KEY,
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            [glow, "serve", "--port", str(port), "--log-level", "warning"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(base_url + "/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"glow serve did not come up: {log.read_text()}")
            time.sleep(0.05)
        yield base_url
    finally:
        process.terminate()
        process.wait(15)


@WRITERS
def test_a_repeat_after_a_restart_is_replayed_from_the_store(
    ledger: RunningLedger, client: httpx.Client, tmp_path: Path
) -> None:
    stocked_sku(client, SKU, SHOP, {"B1": 10})
    key = str(uuid.uuid4())
    first = client.post("/reservations", json={"lines": LINES}, headers=headers(key))
    assert first.status_code == 201
    sale_key = str(uuid.uuid4())
    sale = client.post("/sales", json={"lines": LINES}, headers=headers(sale_key))
    assert sale.status_code == 200
    before = count_events(ledger.store_url)
    # The restart: this writer stops (a writer process lets the store's writer lock go, so
    # the new process's writer leads instead of standing by).
    ledger.runtime.writer.stop()

    with (
        _glow_serve(ledger.store_url, tmp_path / "glow.log") as base_url,
        httpx.Client(headers=auth_headers(), base_url=base_url) as other,
    ):
        again = other.post("/reservations", json={"lines": LINES}, headers=headers(key))
        sale_again = other.post("/sales", json={"lines": LINES}, headers=headers(sale_key))

    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["idempotent-replayed"] == "true"
    assert (sale_again.status_code, sale_again.json()) == (200, sale.json())
    assert sale_again.headers["idempotent-replayed"] == "true"
    assert count_events(ledger.store_url) == before


@pytest.fixture
def ledger(either_ledger: RunningLedger) -> RunningLedger:
    return either_ledger


def test_when_the_writer_process_dies_commands_get_503_and_nothing_half_applied(
    postgres_store: str,
) -> None:
    from configuration.settings import Settings
    from service_layer.writer_client import RemoteWriter
    from tests.e2e.ledger_server import serve

    with (
        serve(Settings(event_store_url=postgres_store, writer_process=True)) as running,
        httpx.Client(headers=auth_headers(), base_url=running.base_url, timeout=30) as client,
    ):
        stocked_sku(client, SKU, SHOP, {"B1": 10})
        before = count_events(running.store_url)
        writer = running.runtime.writer
        assert isinstance(writer, RemoteWriter)
        writer._process.kill()  # the writer process is gone, say the OOM killer took it
        writer._process.join(10)
        deadline = time.monotonic() + 10
        while True:
            refused = client.post("/sales", json={"lines": LINES}, headers=headers())
            if refused.status_code == 503 or time.monotonic() > deadline:
                break
            time.sleep(0.05)

    assert refused.status_code == 503, refused.text
    assert refused.json()["type"] == "/problems/ledger-busy"
    assert "retry with the same Idempotency-Key" in refused.json()["detail"]
    assert count_events(running.store_url) == before
