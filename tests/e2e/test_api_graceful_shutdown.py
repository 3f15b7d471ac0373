"""SIGTERM to `glow serve` under load (PostgreSQL, the writer in its own process): every
command is answered or refused, none is lost or applied twice, and the process exits 0.

Twenty clients send sales and reservations, each with its own Idempotency-Key, and SIGTERM
arrives in the middle. Each command's fate is then checked against the ledger (its events
carry its key): a 2xx is recorded exactly once, a refusal (409) not at all, and a 503 or a
connection error either not at all or once; sent again with the same key to a restarted
server, each yields exactly one record. The stock adds up to the commands that committed."""

from __future__ import annotations

import signal
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

from tests.e2e.glow_process import glow_serve
from tests.e2e.ledger_server import (
    EXPIRY_LATER,
    auth_headers,
    define_sku,
    headers,
    receive,
    register_location,
)

SKUS = ("SERUM-DRAIN", "BALM-DRAIN")
SHOP = "DRAIN-1"
RECEIVED = 3000
CLIENTS = 20
PER_CLIENT = 80  # at most; a client stops at its first connection error
SIGNAL_AFTER = 150  # answers before SIGTERM
GRACE = 20
EVENTS = {"/sales": 1, "/reservations": 2}  # Stock.Sold; Stock.Reserved + Reservation.Placed


@dataclass
class Sent:
    key: str
    path: str
    body: dict[str, Any]
    sku: str
    quantity: int
    status: int | None = None  # None: the connection failed
    problem: dict[str, Any] = field(default_factory=dict)
    answered_at: float = 0.0


def command(n: int) -> Sent:
    sku, quantity = SKUS[n % 2], 1 + n % 3
    line = {"sku": sku, "location": SHOP, "quantity": quantity}
    path = "/sales" if n % 3 else "/reservations"
    return Sent(str(uuid.uuid4()), path, {"lines": [line]}, sku, quantity)


def events_with_key(store_url: str, keys: list[str]) -> Counter[str]:
    """Events whose trace names each key (events are stored as JSON: the key is in it)."""
    with psycopg.connect(store_url) as conn:
        rows = conn.execute(
            "SELECT k, count(e.*) FROM unnest(%s::text[]) AS k "
            "LEFT JOIN inventory_events e ON position(convert_to(k, 'UTF8') IN e.state) > 0 "
            "GROUP BY k",
            (keys,),
        ).fetchall()
    return Counter(dict(rows))


def test_sigterm_under_load_answers_every_command_and_loses_none(
    postgres_store: str, tmp_path: Path
) -> None:
    settings = {"GLOW_SHUTDOWN_GRACE_SECONDS": str(GRACE), "GLOW_SWEEP_INTERVAL_SECONDS": "0.2"}
    sent: list[Sent] = []
    lock = threading.Lock()
    answered = threading.Semaphore(0)
    signalled_at = [float("inf")]

    with glow_serve(postgres_store, tmp_path, settings=settings) as served:
        with httpx.Client(base_url=served.base_url, headers=auth_headers(), timeout=30) as admin:
            register_location(admin, SHOP)
            for sku in SKUS:
                define_sku(admin, sku)
                receive(admin, sku, SHOP, "B1", RECEIVED, EXPIRY_LATER)
        writer_pids = served.writer_processes()
        assert writer_pids, "on PostgreSQL the writer runs in a child process"

        def client(first: int) -> None:
            with httpx.Client(base_url=served.base_url, timeout=60) as http:
                for n in range(first, first + PER_CLIENT):
                    one = command(n)
                    with lock:
                        sent.append(one)
                    try:
                        response = http.post(one.path, json=one.body, headers=headers(one.key))
                    except httpx.TransportError:
                        return  # the server is going or gone: this command's fate is unknown
                    one.status, one.answered_at = response.status_code, time.monotonic()
                    if response.status_code >= 400:
                        one.problem = response.json()
                    answered.release()

        with ThreadPoolExecutor(CLIENTS) as pool:
            clients = [pool.submit(client, c * PER_CLIENT) for c in range(CLIENTS)]
            for _ in range(SIGNAL_AFTER):
                assert answered.acquire(timeout=60), served.output()
            signalled_at[0] = time.monotonic()
            served.process.send_signal(signal.SIGTERM)
            for done in clients:
                done.result()
            returncode = served.process.wait(GRACE + 5)  # within the grace, and a margin
        output = served.output()

    assert returncode == 0, output
    assert "SIGTERM: draining" in output
    assert "Traceback" not in output, output
    assert all(not Path(f"/proc/{pid}").exists() for pid in writer_pids), "writer left running"
    statuses = Counter(one.status for one in sent)
    assert set(statuses) <= {200, 201, 409, 503, None}, statuses
    assert any(one.status in (200, 201) and one.answered_at > signalled_at[0] for one in sent), (
        "no command in flight at SIGTERM was answered: the drain was not exercised",
        statuses,
    )
    for one in sent:
        if one.status == 503:
            assert "same Idempotency-Key" in one.problem["detail"], one.problem
        if one.status == 409:
            assert one.problem["type"] == "/problems/insufficient-stock", one.problem

    recorded = events_with_key(postgres_store, [one.key for one in sent])
    for one in sent:
        if one.status in (200, 201):
            assert recorded[one.key] == EVENTS[one.path], (one, recorded[one.key])
        elif one.status == 409:
            assert recorded[one.key] == 0, one
        else:  # 503 or no answer: absent, or recorded whole
            assert recorded[one.key] in (0, EVENTS[one.path]), (one, recorded[one.key])

    # A restarted server: every command sent again with its key has exactly one effect.
    with (
        glow_serve(postgres_store, tmp_path, log_name="again.log") as again,
        httpx.Client(base_url=again.base_url, timeout=30) as http,
    ):
        for one in sent:
            if one.status == 409:
                continue
            response = http.post(one.path, json=one.body, headers=headers(one.key))
            if one.status in (200, 201):
                assert response.status_code == one.status, response.text
                assert response.headers.get("idempotent-replayed") == "true"
            else:
                assert response.status_code in (200, 201, 409), response.text
                one.status = response.status_code
        stock = {
            sku: http.get(f"/skus/{sku}/stock/{SHOP}", headers=auth_headers()).json()
            for sku in SKUS
        }

    recorded = events_with_key(postgres_store, [one.key for one in sent])
    for one in sent:
        expected = EVENTS[one.path] if one.status in (200, 201) else 0
        assert recorded[one.key] == expected, (one, recorded[one.key])
    for sku in SKUS:
        sold = sum(o.quantity for o in sent if o.sku == sku and o.path == "/sales" and ok(o))
        held = sum(o.quantity for o in sent if o.sku == sku and o.path != "/sales" and ok(o))
        assert stock[sku]["on_hand"] == RECEIVED - sold, stock[sku]
        assert stock[sku]["reserved"] == held, stock[sku]
        assert stock[sku]["available"] == RECEIVED - sold - held, stock[sku]


def ok(one: Sent) -> bool:
    return one.status in (200, 201)
