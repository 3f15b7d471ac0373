"""API replicas that scale out: several `glow serve` processes share one `glow writer` over
TCP (GLOW_WRITER_URL), all real processes on a real PostgreSQL store.

- Two APIs, one writer: the same keys sent through both APIs at once apply once each; a sale
  refused for lack of stock through both under one key records its unmet demand once.
- A leader and a standby writer: the leader is killed under load; the standby takes the
  lock, the APIs reconnect (GLOW_WRITER_URL lists both addresses), every waiting command was
  answered 200 or 503 `ledger-busy` with Retry-After, and every key retried applies once.
- The wire: a peer without the secret, or with a wrong one, is refused before anything it
  sent is unpickled (a pickle that would create a file is sent: the file never appears).
"""

from __future__ import annotations

import pickle
import signal
import socket
import struct
import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from service_layer.writer_wire import MAGIC, NONCE_BYTES, HandshakeRefused, answer
from tests.e2e.glow_process import GLOW, GlowServe, environment, free_port, glow_serve
from tests.e2e.ledger_server import auth_headers, count_answers, eventually, headers, stocked_sku
from tests.e2e.test_writer_leadership import lock_holders
from tests.integration.metrics_scrape import samples, value

SECRET = "shared-writer-test-secret-" + uuid.uuid4().hex
SKU, SHOP = "SERUM-SHARED", "LYON-2"
SALE = {"lines": [{"sku": SKU, "location": SHOP, "quantity": 1}]}


@dataclass
class GlowWriter:
    process: subprocess.Popen[bytes]
    port: int
    health_port: int
    log: Path

    @property
    def health(self) -> str:
        return f"http://127.0.0.1:{self.health_port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def metrics(self) -> dict[Any, float]:
        response = httpx.get(self.health + "/metrics", timeout=10)
        assert response.status_code == 200, response.text
        return samples(response.text)


def status_of(url: str) -> int:
    try:
        return httpx.get(url, timeout=5).status_code
    except httpx.TransportError:
        return 0


@contextmanager
def glow_writer(store_url: str, cwd: Path, name: str) -> Iterator[GlowWriter]:
    """`glow writer` on free ports; killed (if still running) after the block."""
    port, health_port = free_port(), free_port()
    log = cwd / f"{name}.log"
    settings = {
        "GLOW_WRITER_LISTEN": f"127.0.0.1:{port}",
        "GLOW_WRITER_SECRET": SECRET,
        "GLOW_METRICS_ADDRESS": "127.0.0.1",
        "GLOW_METRICS_PORT": str(health_port),
        "GLOW_WRITER_LOCK_RETRY_SECONDS": "0.2",
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            [GLOW, "writer"],
            env=environment(store_url, cwd, **settings),
            cwd=cwd,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    writer = GlowWriter(process, port, health_port, log)
    try:
        eventually(
            lambda: (process.poll(), status_of(writer.health + "/health/live")),
            lambda found: found[0] is not None or found[1] == 200,
        )
        assert process.poll() is None, writer.output()
        yield writer
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


def api_settings(*writers: GlowWriter) -> dict[str, str]:
    url = "tcp://" + ",".join(f"127.0.0.1:{w.port}" for w in writers)
    return {"GLOW_WRITER_URL": url, "GLOW_WRITER_SECRET": SECRET}


def ready(api: GlowServe) -> bool:
    return status_of(api.base_url + "/health/ready") == 200


def on_hand(api: GlowServe) -> int:
    stock = httpx.get(
        f"{api.base_url}/skus/{SKU}/stock/{SHOP}", headers=auth_headers(), timeout=30
    ).json()
    return int(stock["on_hand"])


def sell(api: GlowServe, key: str) -> httpx.Response:
    return httpx.post(api.base_url + "/sales", json=SALE, headers=headers(key), timeout=60)


def test_two_apis_share_one_writer_and_each_key_applies_once(
    postgres_store: str, tmp_path: Path
) -> None:
    units, keys = 80, [str(uuid.uuid4()) for _ in range(60)]
    with ExitStack() as stack:
        writer = stack.enter_context(glow_writer(postgres_store, tmp_path, "writer"))
        eventually(lambda: status_of(writer.health + "/health/ready"), (200).__eq__)
        first, second = (
            stack.enter_context(
                glow_serve(
                    postgres_store, tmp_path, log_name=f"api-{n}.log", settings=api_settings(writer)
                )
            )
            for n in (1, 2)
        )
        eventually(lambda: ready(first) and ready(second), bool)
        with httpx.Client(base_url=first.base_url, headers=auth_headers(), timeout=30) as client:
            stocked_sku(client, SKU, SHOP, {"B1": units})
        answers_before = count_answers(postgres_store)

        # Every key through both APIs at once: the one writer decides both, applies one.
        calls = [(api, key) for key in keys for api in (first, second)]
        with ThreadPoolExecutor(12) as pool:
            responses = list(pool.map(lambda call: sell(*call), calls))
        assert all(r.status_code == 200 for r in responses), [r.text for r in responses][:3]
        replayed = sum(r.headers.get("idempotent-replayed") == "true" for r in responses)
        assert replayed == len(keys)  # one of each pair is the first answer, replayed
        assert count_answers(postgres_store) - answers_before == len(keys)
        assert on_hand(first) == on_hand(second) == units - len(keys)
        # A sale refused for lack of stock, sent through both APIs under one key: two 409s,
        # its unmet demand recorded once by the one writer (and counted on its port).
        too_many = {"lines": [{"sku": SKU, "location": SHOP, "quantity": 500}]}
        refused_key = str(uuid.uuid4())
        for api in (first, second):
            response = httpx.post(
                api.base_url + "/sales", json=too_many, headers=headers(refused_key), timeout=60
            )
            assert response.status_code == 409, response.text
            assert response.json()["available"] == units - len(keys)

        # The writer's own port: leads, two APIs connected, its groups counted there.
        assert httpx.get(writer.health + "/health/ready").json() == {"status": "ready"}
        found = writer.metrics()
        assert value(found, "glow_writer_leading") == 1
        assert value(found, "glow_writer_connections") == 2
        committed = value(
            found, "glow_writer_commands_total", ledger="inventory", outcome="committed"
        )
        replays = value(found, "glow_writer_commands_total", ledger="inventory", outcome="replayed")
        assert committed + replays >= 2 * len(keys)
        recorded = value(found, "glow_unmet_demand_recorded_total", reason="insufficient-stock")
        assert recorded == 1
        groups = value(found, "glow_writer_groups_total", ledger="inventory")
        assert value(found, "glow_writer_group_size_count", ledger="inventory") == groups
        # Each API reports its own queue, never the writer's counts (no double counting).
        api_metrics = samples(
            httpx.get(first.base_url + "/metrics", headers=auth_headers("operator")).text
        )
        assert value(api_metrics, "glow_writer_queue_depth", ledger="inventory") == 0
        assert ("glow_writer_groups_total", frozenset({("ledger", "inventory")})) not in api_metrics


@pytest.mark.slow  # over 12 s: CI's second pass (scripts/test -m slow)
def test_the_standby_writer_takes_over_and_the_apis_reconnect_losing_nothing(
    postgres_store: str, tmp_path: Path
) -> None:
    units, keys = 120, [str(uuid.uuid4()) for _ in range(100)]
    with ExitStack() as stack:
        leader = stack.enter_context(glow_writer(postgres_store, tmp_path, "leader"))
        eventually(lambda: status_of(leader.health + "/health/ready"), (200).__eq__)
        standby = stack.enter_context(glow_writer(postgres_store, tmp_path, "standby"))
        waiting = eventually(
            lambda: httpx.get(standby.health + "/health/ready"),
            lambda response: "writer: starting" not in response.text,
        )
        assert waiting.status_code == 503
        assert waiting.headers["content-type"] == "application/problem+json"
        assert waiting.json()["reasons"] == ["writer: stands by: another writer leads this store"]
        assert status_of(standby.health + "/health/live") == 200
        with socket.socket() as probe:  # a standby does not listen: APIs reach only the leader
            assert probe.connect_ex(("127.0.0.1", standby.port)) != 0

        settings = api_settings(leader, standby)
        apis = [
            stack.enter_context(
                glow_serve(postgres_store, tmp_path, log_name=f"api-{n}.log", settings=settings)
            )
            for n in (1, 2)
        ]
        eventually(lambda: all(ready(api) for api in apis), bool)
        with httpx.Client(base_url=apis[0].base_url, headers=auth_headers(), timeout=30) as client:
            stocked_sku(client, SKU, SHOP, {"B1": units})
        answers_before = count_answers(postgres_store)

        def first_try(index: int) -> httpx.Response:
            return sell(apis[index % 2], keys[index])

        with ThreadPoolExecutor(8) as pool:
            early = list(pool.map(first_try, range(len(keys) // 2)))
            killing = pool.submit(leader.process.kill)  # mid-load, no goodbye
            late = list(pool.map(first_try, range(len(keys) // 2, len(keys))))
            killing.result()
        assert all(r.status_code == 200 for r in early), [r.text for r in early][:3]
        for response in late:  # each waiting or new command: answered, or refused to retry
            assert response.status_code in (200, 503), response.text
            if response.status_code == 503:
                assert response.json()["type"] == "/problems/ledger-busy"
                assert "Idempotency-Key" in response.json()["detail"]
                assert int(response.headers["retry-after"]) >= 1

        eventually(lambda: status_of(standby.health + "/health/ready"), (200).__eq__)
        assert lock_holders(postgres_store) == 1
        eventually(lambda: all(ready(api) for api in apis), bool)

        # Every caller retries its key, on either API: applied once, or replayed.
        for index, key in enumerate(keys):
            again = sell(apis[(index + 1) % 2], key)
            assert again.status_code == 200, again.text
        assert count_answers(postgres_store) - answers_before == len(keys)
        assert on_hand(apis[0]) == units - len(keys)
        assert value(standby.metrics(), "glow_writer_connections") == 2


def evil_pickle(marker: Path) -> bytes:
    """A frame whose unpickling creates `marker`."""

    class CreatesAFile:
        def __reduce__(self) -> tuple[Any, ...]:
            return (open, (str(marker), "w"))

    payload = pickle.dumps(CreatesAFile())
    return struct.pack(">I", len(payload)) + payload


def closed_by_peer(sock: socket.socket) -> bool:
    sock.settimeout(10)
    try:
        while sock.recv(4096):
            pass
    except ConnectionResetError:
        pass
    return True


def test_a_peer_without_the_secret_is_refused_and_nothing_it_sent_is_unpickled(
    postgres_store: str, tmp_path: Path
) -> None:
    marker = tmp_path / "unpickled-by-the-writer"
    with glow_writer(postgres_store, tmp_path, "writer") as writer:
        eventually(lambda: status_of(writer.health + "/health/ready"), (200).__eq__)
        address = ("127.0.0.1", writer.port)

        # 1. No handshake at all: a pickle frame straight away.
        with socket.create_connection(address) as blunt:
            blunt.sendall(evil_pickle(marker) * 4)
            assert closed_by_peer(blunt)

        # 2. The greeting read, then a pickle where the proof belongs.
        with socket.create_connection(address) as guesser:
            greeting = guesser.recv(len(MAGIC) + NONCE_BYTES)
            assert greeting.startswith(MAGIC)
            guesser.sendall(evil_pickle(marker).ljust(64, b"\0") + evil_pickle(marker))
            assert closed_by_peer(guesser)

        # 3. The protocol followed with a wrong secret, then frames anyway.
        with socket.create_connection(address) as impostor:
            with pytest.raises(HandshakeRefused):
                answer(impostor, b"not-the-secret-" * 3)
            with pytest.raises(OSError):
                for _ in range(50):  # the writer closed: sending fails soon
                    impostor.sendall(evil_pickle(marker))
                    time.sleep(0.01)

        assert not marker.exists()
        assert value(writer.metrics(), "glow_writer_connections_refused_total") == 3
        assert value(writer.metrics(), "glow_writer_connections") == 0

        # The writer is unharmed: an API with the secret is served.
        with glow_serve(postgres_store, tmp_path, settings=api_settings(writer)) as api:
            eventually(lambda: ready(api), bool)
            with httpx.Client(base_url=api.base_url, headers=auth_headers(), timeout=30) as client:
                stocked_sku(client, SKU, SHOP, {"B1": 3})
            assert sell(api, str(uuid.uuid4())).status_code == 200
            assert on_hand(api) == 2
        assert not marker.exists()
