"""Behaviour ingestion speed and freshness (issue 18), on this machine's PostgreSQL and chDB.

    GLOW_BENCH_DB=glow_bench_h1 .venv/bin/python scripts/bench_engagement.py --quick  # < 60 s

Measures:
- track_events_per_s: events a real `glow serve` process (embedded: its buffer writes its own
  chDB) takes over HTTP in batches of 100 from --connections concurrent keep-alive clients;
  each batch names two consenting customers (10 identified events: their consent is read
  fresh per batch) and 90 anonymous events, 60% with the cookie banner's consent (rows), the
  rest counted only. track_cpu_us_per_event: the server's CPU (its child writer included)
  per event.
- track_broker_events_per_s: the same batches through `glow serve` with GLOW_BROKER_URL to a
  Tansu broker and `glow worker` writing its chDB: events sent / time from the first request
  to the worker's last write of them (its `worker-behaviour` log lines);
  track_broker_cpu_us_per_event: API and worker CPU per event.
- track_visible_p99_ms (and _p50): from sending a batch to its sampled event being queryable in
  chDB (a SELECT by its event id), with the server in this process under a background load of
  --visible-load events/s; sharing this process's interpreter with the client makes it a
  conservative figure.
- segment_s, segment_speedup_vs_pg: from scripts/bench_engagement_segments.py when present.
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(1, str(ROOT / "scripts"))
sys.path.insert(2, str(ROOT))

from api.auth import mint_token  # noqa: E402
from bench_services import ensure_postgres, free_port, fresh_database, wait_for_http  # noqa: E402
from cli.dev_broker import start_tansu  # noqa: E402
from cli.dev_processes import launch, stop  # noqa: E402
from configuration.settings import Settings  # noqa: E402
from http_load import Connection, run_client  # noqa: E402
from privacy.master_keys import MasterKeys  # noqa: E402
from service_layer.behaviour_desk import MESSAGE_IDS  # noqa: E402
from storage.migrations import apply_migrations  # noqa: E402

GLOW = str(ROOT / ".venv" / "bin" / "glow")
SECRET = "bench-" + uuid.uuid4().hex
SUBJECT = "bench-frontend"
BATCH = 100
IDENTIFIED_PER_BATCH = 10  # two customers, five events each


def token(role: str, **claims: Any) -> str:
    return mint_token(SECRET, claims.pop("subject", "bench"), role, 3600, **claims)


CHANNEL = {"authorization": f"Bearer {token('channel', channel='web', subject=SUBJECT)}"}
ADMIN = {"authorization": f"Bearer {token('admin')}", "x-channel": "web"}


def cpu_seconds(pid: int) -> float:
    """CPU of a process and its live children (the API's writer), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def events_batch(customers: list[str], number: int) -> list[dict[str, Any]]:
    chosen = random.sample(customers, 2)
    events: list[dict[str, Any]] = []
    for n in range(BATCH):
        event: dict[str, Any] = {
            "event": "product_viewed" if n % 3 else "product_added_to_cart",
            "properties": {"sku": f"SKU-{random.randrange(5000)}"},
            "message_id": f"{number}-{n}",
        }
        if event["event"] == "product_added_to_cart":
            event["properties"]["quantity"] = 1
        if n < IDENTIFIED_PER_BATCH:
            event["customer_id"] = chosen[n % 2]
        else:
            event["anonymous_id"] = f"device-{random.randrange(100_000)}"
            event["context"] = {"consent": {"analytics": n % 5 < 3}}
        events.append(event)
    return events


async def customers_with_consent(port: int, count: int) -> list[str]:
    connection = Connection("127.0.0.1", port)
    await connection.open()
    found = []
    for n in range(count):
        body = {
            "name": f"Bench Customer {n}",
            "email": f"bench.{uuid.uuid4().hex[:10]}@example.org",
        }
        headers = {**ADMIN, "idempotency-key": str(uuid.uuid4())}
        reply = await connection.request("POST", "/customers", body, headers)
        assert reply.status == 201, reply.body
        customer_id = str(reply.json()["customer_id"])
        grant = {"purpose": "analytics", "text_version": "bench"}
        headers = {**ADMIN, "idempotency-key": str(uuid.uuid4())}
        path = f"/customers/{customer_id}/consents/grant"
        assert (await connection.request("POST", path, grant, headers)).status == 200
        found.append(customer_id)
    await connection.close()
    return found


async def load(
    port: int, seconds: float, connections: int, customers: list[str], first: int = 0
) -> tuple[int, float]:
    """Batches from `connections` clients for `seconds`; (events answered, elapsed)."""
    sent = [0]
    numbers = iter(range(first, 10**9))
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        connection = Connection("127.0.0.1", port)
        await connection.open()
        while time.perf_counter() < deadline:
            batch = events_batch(customers, next(numbers))
            reply = await connection.request("POST", "/track/batch", {"batch": batch}, CHANNEL)
            assert reply.status == 202, reply.body
            sent[0] += int(reply.json()["received"])  # type: ignore[call-overload]
        await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    return sent[0], time.perf_counter() - started


def environment(store_url: str, analytics: str, **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GLOW_")}
    env.update(
        GLOW_EVENT_STORE_URL=store_url,
        GLOW_ANALYTICS_URL=analytics,
        GLOW_HOT_VIEWS_URL="",
        GLOW_JWT_SECRET=SECRET,
        GLOW_MASTER_KEY=MASTER_KEY,
        GLOW_WEBHOOKS="0",
        GLOW_CHAIN_INTERVAL_SECONDS="0",
        GLOW_LOG_LEVEL="WARNING",
    )
    env.update(more)
    return env


MASTER_KEY = MasterKeys.generate()


def embedded(store_url: str, folder: Path, args: argparse.Namespace) -> dict[str, float]:
    port = free_port()
    env = environment(store_url, f"chdb://{folder / 'embedded-chdb'}")
    server = launch([GLOW, "serve", "--port", str(port)], env, folder / "serve.log")
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health/live", 60)
        customers = run_client(customers_with_consent(port, 20))
        run_client(load(port, 1.0, args.connections, customers, first=10**8))  # warm up
        before = cpu_seconds(server.pid)
        events, elapsed = run_client(load(port, args.seconds, args.connections, customers))
        cpu = cpu_seconds(server.pid) - before
    finally:
        stop(server)
    return {
        "track_events_per_s": round(events / elapsed),
        "track_cpu_us_per_event": round(cpu / events * 1e6, 1),
        "track_events": events,
    }


def broker(store_url: str, folder: Path, args: argparse.Namespace) -> dict[str, float]:
    kafka_port, port = free_port(), free_port()
    tansu = start_tansu(kafka_port, folder / "tansu.log")
    env = environment(
        store_url,
        f"chdb://{folder / 'worker-chdb'}",
        GLOW_BROKER_URL=f"kafka://127.0.0.1:{kafka_port}",
        GLOW_TOPIC_PREFIX=f"b{uuid.uuid4().hex[:6]}.",
        GLOW_LOG_LEVEL="INFO",
    )
    worker_log = folder / "worker.log"
    worker = launch(
        [GLOW, "worker", "--web-port", str(free_port()), "--data-dir", str(folder / "faust")],
        env,
        worker_log,
    )
    server = launch([GLOW, "serve", "--port", str(port)], env, folder / "serve-broker.log")
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health/live", 60)
        customers = run_client(customers_with_consent(port, 20))
        run_client(load(port, 1.0, args.connections, customers, first=10**8))  # warm up
        warm = wait_rows(worker_log, 1, 60)
        before = cpu_seconds(server.pid) + cpu_seconds(worker.pid)
        started = time.perf_counter()
        events, _ = run_client(load(port, args.seconds, args.connections, customers))
        rows_expected = warm + rows_of(events)
        wait_rows(worker_log, rows_expected, 120)
        elapsed = time.perf_counter() - started
        cpu = cpu_seconds(server.pid) + cpu_seconds(worker.pid) - before
    finally:
        stop(server)
        stop(worker)
        stop(tansu)
    return {
        "track_broker_events_per_s": round(events / elapsed),
        "track_broker_cpu_us_per_event": round(cpu / events * 1e6, 1),
    }


def rows_of(events: int) -> int:
    """Rows the batches make: the identified ones (consenting) and 60% of the anonymous."""
    batches = events // BATCH
    return batches * (
        IDENTIFIED_PER_BATCH + sum(1 for n in range(IDENTIFIED_PER_BATCH, BATCH) if n % 5 < 3)
    )


def written(log: Path) -> int:
    total = 0
    for line in log.read_text().splitlines():
        if line.startswith("{") and '"worker-behaviour"' in line:
            total += int(orjson.loads(line)["rows"])
    return total


def wait_rows(log: Path, at_least: int, seconds: float) -> int:
    deadline = time.monotonic() + seconds
    while (found := written(log)) < at_least:
        if time.monotonic() > deadline:
            raise SystemExit(f"the worker wrote {found} of {at_least} rows in {seconds} s")
        time.sleep(0.02)
    return found


def visibility(store_url: str, folder: Path, args: argparse.Namespace) -> dict[str, float]:
    """The server in this process, so that its chDB can be asked when a row is there."""
    from tests.e2e.ledger_server import serve

    settings = Settings(
        event_store_url=store_url,
        analytics_url=f"chdb://{folder / 'visible-chdb'}",
        jwt_secret=SECRET,
        master_key=MASTER_KEY,
        chain_interval_seconds=0,
    )
    with serve(settings) as running:
        side = running.runtime.read_side
        assert side is not None and side.sinks.facts is not None
        client = side.sinks.facts.client
        port = int(running.base_url.rsplit(":", 1)[1])
        customers = run_client(customers_with_consent(port, 4))
        delays = run_client(sampled(port, client, customers, args))
    delays.sort()
    return {
        "track_visible_p50_ms": round(statistics.median(delays), 1),
        "track_visible_p99_ms": round(delays[min(len(delays) - 1, int(len(delays) * 0.99))], 1),
        "track_visible_samples": len(delays),
    }


async def sampled(
    port: int, client: Any, customers: list[str], args: argparse.Namespace
) -> list[float]:
    stop_load = threading.Event()

    async def background() -> None:  # --visible-load events/s in batches of 100
        connection = Connection("127.0.0.1", port)
        await connection.open()
        number = 2 * 10**8
        pause = BATCH / args.visible_load
        while not stop_load.is_set():
            number += 1
            started = time.perf_counter()
            batch = {"batch": events_batch(customers, number)}
            await connection.request("POST", "/track/batch", batch, CHANNEL)
            await asyncio.sleep(max(0.0, pause - (time.perf_counter() - started)))
        await connection.close()

    def visible(event_id: str) -> bool:
        rows = client.query(
            "SELECT count() FROM behaviour_events WHERE event_id = {e:UUID}",
            parameters={"e": event_id},
        ).result_rows
        return bool(rows[0][0])

    loader = asyncio.create_task(background())
    probe = Connection("127.0.0.1", port)
    await probe.open()
    delays = []
    for n in range(args.samples):
        message_id = f"probe-{uuid.uuid4().hex}"
        batch = events_batch(customers, 3 * 10**8 + n)
        batch[-1].update(
            message_id=message_id, anonymous_id="probe", context={"consent": {"analytics": True}}
        )
        event_id = str(uuid.uuid5(MESSAGE_IDS, f"{SUBJECT}\n{message_id}"))
        sent = time.perf_counter()
        reply = await probe.request("POST", "/track/batch", {"batch": batch}, CHANNEL)
        assert reply.status == 202, reply.body
        while not await asyncio.to_thread(visible, event_id):
            await asyncio.sleep(0.005)
        delays.append((time.perf_counter() - sent) * 1000)
        await asyncio.sleep(random.uniform(0.02, 0.1))
    stop_load.set()
    await loader
    await probe.close()
    return delays


def segments(quick: bool) -> dict[str, float]:
    try:
        from bench_engagement_segments import measure_segments  # type: ignore[import-not-found]
    except ImportError:
        return {}
    found: dict[str, float] = measure_segments(quick)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a run under 60 s")
    parser.add_argument("--seconds", type=float, default=None, help="each load's length")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--samples", type=int, default=None)
    parser.add_argument("--visible-load", type=float, default=5000.0, help="events/s beside")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    args.seconds = args.seconds or (4.0 if args.quick else 30.0)
    args.samples = args.samples or (40 if args.quick else 300)
    ensure_postgres(args.postgres)
    dbname = os.environ.get("GLOW_BENCH_DB", "glow_bench_engagement")
    started = time.monotonic()
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="glow-bench-engagement-") as tmp:
        folder = Path(tmp)
        for phase in (embedded, broker, visibility):
            store_url = fresh_database(args.postgres, dbname)
            apply_migrations(store_url)
            found = phase(store_url, folder, args)
            print(phase.__name__, found, file=sys.stderr)
            figures.update(found)
    figures.update(segments(args.quick))
    figures["seconds"] = round(time.monotonic() - started, 1)
    print(orjson.dumps(figures).decode())


if __name__ == "__main__":
    main()
