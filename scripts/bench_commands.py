"""Command throughput and latency of the HTTP API on PostgreSQL, against PostgreSQL's own
ceiling (pgbench, one single-row INSERT per transaction) measured in the same run.

    .venv/bin/python scripts/bench_commands.py --quick        # under 60 s
    .venv/bin/python scripts/bench_commands.py --clients 16 --duration 30

Prints commands/s, p50/p99 latency, pgbench TPS and the ratio, and the latency ratio of
a SKU with 50,000 events of history against a fresh SKU. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path

import orjson
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

from api.auth import mint_token  # noqa: E402
from bench_services import (  # noqa: E402
    cpu_seconds,
    ensure_postgres,
    free_port,
    fresh_database,
    postgres_pids,
    wait_for_http,
    wait_for_sweeper,
    with_descendants,
)
from configuration.settings import Settings  # noqa: E402
from domain import commands as c  # noqa: E402
from domain.trace import Trace  # noqa: E402
from http_load import Connection, run_client  # noqa: E402
from privacy.master_keys import MasterKeys  # noqa: E402
from service_layer.bootstrap import bootstrap  # noqa: E402

GLOW = str(ROOT / ".venv" / "bin" / "glow")
MASTER_KEY = MasterKeys.generate()
JWT_SECRET = "bench-" + uuid.uuid4().hex
HEADERS = {
    "x-channel": "web",
    "authorization": "Bearer " + mint_token(JWT_SECRET, "bench", "channel", 3600, channel="web"),
}
OPERATOR = {"authorization": "Bearer " + mint_token(JWT_SECRET, "bench", "operator", 3600)}
HIST, FRESH = "HIST-SKU", "FRESH-SKU"


def trace() -> Trace:
    from datetime import UTC, datetime

    return Trace(channel="backoffice", principal="bench", occurred_at=datetime.now(tz=UTC))


def seed(url: str, pool: int, history_events: int) -> float:
    """Catalog, stock, and a SKU with a long history, written through the real writer.

    Returns the writer's own rate (commands/s) while it wrote that history: in-process, no
    HTTP, every command on the same hot SKU, each with an idempotency key."""
    runtime = bootstrap(Settings(event_store_url=url, master_key=MASTER_KEY))
    runtime.writer.start()
    try:
        w = runtime.writer
        w.execute(c.RegisterLocation("WH", "Bench warehouse", "warehouse", 52.0, 4.0, trace()))
        skus = [f"SKU-{i:04d}" for i in range(pool)] + [HIST, FRESH]
        variants = tuple(c.VariantSpec(s, {}, Decimal("9.90"), "EUR") for s in skus)
        details = {"name": "Bench serum", "brand": "Bench", "category": "serum"}
        w.execute(c.DefineProduct("BENCH", details, variants, trace()))
        expiry = date(2030, 1, 1)
        for sku in skus:
            w.execute(c.ReceiveBatch(sku, "WH", "B1", expiry, 10_000_000, None, trace()))
        pending = []
        started = time.perf_counter()
        for _ in range(history_events // 2):
            rid = uuid.uuid4()
            line = (c.StockLine(HIST, "WH", 1),)
            place = c.PlaceReservation(rid, line, _far(), trace())
            pending.append(w.submit(place, uuid.uuid4().hex, "bench"))
            pending.append(w.submit(c.ReleaseReservation(rid, trace()), uuid.uuid4().hex, "bench"))
            if len(pending) >= 2000:
                for f in pending:
                    f.result()
                pending.clear()
        for f in pending:
            f.result()
        return (history_events // 2 * 2) / (time.perf_counter() - started)
    finally:
        runtime.close()


def _far() -> object:
    from datetime import UTC, datetime, timedelta

    return datetime.now(tz=UTC) + timedelta(days=1)


async def reserve_and_confirm(conn: Connection, sku: str) -> tuple[int, int]:
    reply = await conn.request(
        "POST",
        "/reservations",
        {"lines": [{"sku": sku, "location": "WH", "quantity": 1}], "source_ref": "bench"},
        {**HEADERS, "idempotency-key": uuid.uuid4().hex},
    )
    if reply.status != 201:
        return reply.status, 0
    rid = reply.json()["reservation_id"]
    confirm = await conn.request(
        "POST", f"/reservations/{rid}/confirm", {}, {**HEADERS, "idempotency-key": uuid.uuid4().hex}
    )
    return reply.status, confirm.status


Act = Callable[[Connection, str], Awaitable[tuple[int, int]]]


async def drive(
    port: int,
    clients: int,
    seconds: float,
    skus: list[str],
    act: Act = reserve_and_confirm,
    keep: list[float] | None = None,
) -> dict[str, float]:
    """Every client repeats `act` on random SKUs until the time is up; an act answers the
    statuses of its two steps (201 and 200 when all went well). `keep` gets every latency."""
    conns = [Connection("127.0.0.1", port) for _ in range(clients)]
    for conn in conns:
        await conn.open()
    failures = 0
    deadline = time.perf_counter() + seconds

    async def client(conn: Connection) -> None:
        nonlocal failures
        while time.perf_counter() < deadline:
            first, second = await act(conn, random.choice(skus))
            failures += (first != 201) + (second != 200)

    started = time.perf_counter()
    await asyncio.gather(*(client(conn) for conn in conns))
    elapsed = time.perf_counter() - started
    latencies = sorted(x for conn in conns for x in conn.latencies)
    if keep is not None:
        keep.extend(latencies)
    for conn in conns:
        await conn.close()
    return {
        "commands": len(latencies),
        "commands_per_s": len(latencies) / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "failures": failures,
    }


async def warm(port: int, clients: int, skus: list[str]) -> None:
    """One reserve+confirm on every SKU: a running ledger has its working set cached, and a
    few seconds of random load would leave part of it cold."""
    conns = [Connection("127.0.0.1", port) for _ in range(clients)]
    for conn in conns:
        await conn.open()

    async def client(conn: Connection, mine: list[str]) -> None:
        for sku in mine:
            await reserve_and_confirm(conn, sku)

    await asyncio.gather(*(client(conn, skus[n::clients]) for n, conn in enumerate(conns)))
    for conn in conns:
        await conn.close()


async def history_latency(port: int, rounds: int) -> dict[str, float]:
    """Median reserve+confirm latency on the long-history SKU and on a fresh one, measured in
    alternation so that whatever else the machine does weighs on both alike."""
    conns = {sku: Connection("127.0.0.1", port) for sku in (HIST, FRESH)}
    result: dict[str, float] = {}
    for sku, conn in conns.items():
        await conn.open()
        await reserve_and_confirm(conn, sku)  # the first load: from the snapshot, cold
        result[f"{sku}_cold_ms"] = conn.latencies[0] * 1000
        conn.latencies.clear()
    for _ in range(rounds):
        for sku, conn in conns.items():
            await reserve_and_confirm(conn, sku)
    for sku, conn in conns.items():
        result[f"{sku}_median_ms"] = statistics.median(conn.latencies) * 1000
        await conn.close()
    result["history_ratio"] = result[f"{HIST}_median_ms"] / result[f"{FRESH}_median_ms"]
    return result


def command_node_env(url: str, **settings: str) -> dict[str, str]:
    """The environment of a benchmarked server: a command node, as in the cluster, whose read
    models are projected elsewhere (relay + workers) and whose webhooks and marketplace feed
    are delivered by `glow webhooks run`, not in the process answering commands (in one
    `glow serve` on PostgreSQL they follow the log in a thread of their own: measured at a
    third of the API process's samples under this load)."""
    return {
        **os.environ,
        "GLOW_EVENT_STORE_URL": url,
        "GLOW_MASTER_KEY": MASTER_KEY,
        "GLOW_JWT_SECRET": JWT_SECRET,
        "GLOW_HOT_VIEWS_URL": "",
        "GLOW_ANALYTICS_URL": "",
        "GLOW_WEBHOOKS": os.environ.get("GLOW_WEBHOOKS", "0"),
        "GLOW_WRITER_PROCESS": os.environ.get("GLOW_WRITER_PROCESS", "1"),
        # a line per request on the terminal would drown the figures (measure it with
        # bench_commands_ab.py --env-b GLOW_LOG_LEVEL=INFO)
        "GLOW_LOG_LEVEL": os.environ.get("GLOW_LOG_LEVEL", "WARNING"),
        **settings,
    }


@contextmanager
def served(url: str, **settings: str) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """`glow serve` on the store as a command node, answering on the port yielded."""
    port = free_port()
    server = subprocess.Popen(
        [GLOW, "--store", url, "serve", "--port", str(port), "--log-level", "warning"],
        env=command_node_env(url, **settings),
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health", 30)
        yield port, server
    finally:
        server.terminate()
        server.wait(10)


def load_figures(clients: int, load: dict[str, float], tps: float) -> dict[str, float]:
    """A drive's figures against pgbench's, rounded as the benchmarks print them."""
    return {
        "clients": clients,
        "commands_per_s": round(load["commands_per_s"], 1),
        "pgbench_tps": round(tps, 1),
        "ratio": round(load["commands_per_s"] / tps, 3),
        "p50_ms": round(load["p50_ms"], 2),
        "p99_ms": round(load["p99_ms"], 2),
        "failures": int(load["failures"]),
    }


def pgbench(base_url: str, dbname: str, clients: int, seconds: int) -> float:
    with psycopg.connect(f"{base_url}/{dbname}", autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS pgbench_single_insert")
        conn.execute(
            "CREATE TABLE pgbench_single_insert (id bigserial PRIMARY KEY, v int NOT NULL,"
            " at timestamptz NOT NULL DEFAULT now())"
        )
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write("INSERT INTO pgbench_single_insert (v) VALUES (1);\n")
    host = re.sub(r"^postgresql://", "", base_url)
    user, _, hostport = host.rpartition("@")
    hostname, _, port = hostport.partition(":")
    out = subprocess.run(
        [
            "pgbench",
            "-n",
            "-c",
            str(clients),
            "-j",
            str(clients),
            "-T",
            str(seconds),
            "-f",
            script.name,
            "-h",
            hostname,
            "-p",
            port or "5432",
            "-U",
            user or "postgres",
            dbname,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    Path(script.name).unlink()
    match = re.search(r"tps = ([0-9.]+)", out)
    assert match, out
    return float(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="finish in under 60 s")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--history", type=int, default=50_000)
    parser.add_argument("--skus", type=int, default=200)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("GLOW_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432"),
    )
    args = parser.parse_args()
    duration = 8.0 if args.quick else args.duration
    ensure_postgres(args.postgres)
    dbname = "glow_bench"
    url = fresh_database(args.postgres, dbname)
    subprocess.run([GLOW, "--store", url, "migrate"], check=True, capture_output=True)

    t0 = time.perf_counter()
    writer_rate = seed(url, args.skus, args.history)
    print(
        f"seeded {args.skus + 2} SKUs and {args.history} events of history in "
        f"{time.perf_counter() - t0:.1f} s"
    )

    with served(url) as (port, server):
        wait_for_sweeper(f"http://127.0.0.1:{port}", 120, OPERATOR)
        history = run_client(history_latency(port, 150 if args.quick else 400))
        skus = [f"SKU-{i:04d}" for i in range(args.skus)]
        run_client(warm(port, args.clients, skus))
        run_client(drive(port, args.clients, 1.5, skus))  # warm the pools
        pg, served_by = postgres_pids(), with_descendants(server.pid)
        before = (cpu_seconds(served_by), cpu_seconds(pg), time.process_time())
        load = run_client(drive(port, args.clients, duration, skus))
        after = (cpu_seconds(served_by), cpu_seconds(pg), time.process_time())
        cpu_us = [(b - a) / load["commands"] * 1e6 for a, b in zip(before, after, strict=True)]
    tps = pgbench(args.postgres, dbname, args.clients, int(duration))
    figures = {
        **load_figures(args.clients, load, tps),
        "history_ratio": round(history["history_ratio"], 3),
        "writer_commands_per_s": round(writer_rate, 1),
        "writer_ratio": round(writer_rate / tps, 3),
        "server_cpu_us_per_command": round(cpu_us[0]),
        "postgres_cpu_us_per_command": round(cpu_us[1]),
        "loadgen_cpu_us_per_command": round(cpu_us[2]),
        "history_events": args.history,
        "history_cold_ms": round(history[f"{HIST}_cold_ms"], 2),
        "fresh_cold_ms": round(history[f"{FRESH}_cold_ms"], 2),
        "history_median_ms": round(history[f"{HIST}_median_ms"], 3),
        "fresh_median_ms": round(history[f"{FRESH}_median_ms"], 3),
    }
    print(
        f"reserve+confirm over HTTP, {args.clients} clients, {duration:.0f} s: "
        f"{figures['commands_per_s']} commands/s, p50 {figures['p50_ms']} ms, "
        f"p99 {figures['p99_ms']} ms, {figures['failures']} failures"
    )
    print(
        f"CPU per command: server {figures['server_cpu_us_per_command']} us, PostgreSQL "
        f"{figures['postgres_cpu_us_per_command']} us, load generator "
        f"{figures['loadgen_cpu_us_per_command']} us"
    )
    print(
        f"pgbench single-row INSERT, {args.clients} clients: {figures['pgbench_tps']} tps; "
        f"ratio {figures['ratio']} (target >= 0.25)"
    )
    print(
        f"history ({args.history} events) vs fresh SKU median latency: "
        f"{figures['history_median_ms']} / {figures['fresh_median_ms']} ms = "
        f"{figures['history_ratio']} (target <= 1.5); cold first command "
        f"{figures['history_cold_ms']} vs {figures['fresh_cold_ms']} ms"
    )
    print(
        f"the command writer alone (in-process, one hot SKU, groups of up to 256): "
        f"{figures['writer_commands_per_s']} commands/s = {figures['writer_ratio']} x pgbench"
    )
    print(orjson.dumps(figures).decode())


if __name__ == "__main__":
    main()
