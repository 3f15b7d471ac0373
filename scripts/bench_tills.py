"""Till journal upload on PostgreSQL over HTTP: lines applied per second for one offline
journal, the peak memory of the API process (server and its writer child) while it uploads,
against PostgreSQL's own ceiling (pgbench, one single-row INSERT per transaction) in the
same run; then webhook deliveries per second to a local receiver and their commit-to-receipt
latency (scripts/bench_webhooks.py's two phases, on the database made afresh).

    .venv/bin/python scripts/bench_tills.py --quick        # under 60 s, 50,000 lines
    .venv/bin/python scripts/bench_tills.py --lines 100000

GLOW_BENCH_DB names the scratch database (default glow_bench_tills). The journal is sent
chunked as it is generated and the answer read as it streams, so neither side holds it.
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

from api.auth import mint_token  # noqa: E402
from bench_commands import GLOW, JWT_SECRET, MASTER_KEY, pgbench, served, trace  # noqa: E402
from bench_services import (  # noqa: E402
    cpu_seconds,
    ensure_postgres,
    fresh_database,
    with_descendants,
)
from bench_webhooks import webhook_figures  # noqa: E402
from configuration.settings import Settings  # noqa: E402
from domain import commands as c  # noqa: E402
from domain.till_commands import DeclareReconciliationPolicy, RegisterTill  # noqa: E402
from service_layer.bootstrap import bootstrap  # noqa: E402

STORE, WAREHOUSE, TILL = "ST-BENCH", "WH-BENCH", "TILL-BENCH"
SKUS = [f"TILL-SKU-{i:03d}" for i in range(50)]
HEADERS = {
    "x-channel": "pos",
    "authorization": "Bearer " + mint_token(JWT_SECRET, "bench", "admin", 3600),
    "content-type": "application/x-ndjson",
    "journal-id": "J-BENCH",
}


def seed(url: str, carts: int) -> None:
    """A store and a warehouse with every SKU, a till, a policy, and web carts on the store's
    shelves (so some till sales re-source a cart)."""
    runtime = bootstrap(Settings(event_store_url=url, master_key=MASTER_KEY))
    runtime.writer.start()
    try:
        w = runtime.writer
        for code, kind in ((STORE, "store"), (WAREHOUSE, "warehouse")):
            w.execute(c.RegisterLocation(code, code, kind, 52.0, 4.0, trace()))
        variants = tuple(c.VariantSpec(s, {}, Decimal("9.90"), "EUR") for s in SKUS)
        details = {"name": "Bench lipstick", "brand": "Bench", "category": "lips"}
        w.execute(c.DefineProduct("TILL-BENCH", details, variants, trace()))
        for sku in SKUS:
            w.execute(c.ReceiveBatch(sku, STORE, "S1", date(2030, 1, 1), 2_000, None, trace()))
            w.execute(c.ReceiveBatch(sku, WAREHOUSE, "W1", date(2030, 1, 1), 10**6, None, trace()))
        w.execute(RegisterTill(TILL, STORE, trace()))
        w.execute(DeclareReconciliationPolicy(STORE, ("resource", "cancel_hold"), trace()))
        far = datetime.now(tz=UTC) + timedelta(hours=1)
        for n in range(carts):
            line = (c.StockLine(SKUS[n % len(SKUS)], STORE, 500),)
            w.execute(c.PlaceReservation(uuid.uuid4(), line, far, trace()))
    finally:
        runtime.close()


def journal(lines: int) -> Iterator[bytes]:
    """JSON Lines, 200 a chunk, a few SKUs a sale."""
    rng = random.Random(16)
    at = (datetime.now(tz=UTC) - timedelta(hours=2)).isoformat()
    chunk = []
    for seq in range(1, lines + 1):
        items = [{"sku": rng.choice(SKUS), "quantity": 1} for _ in range(rng.randint(1, 2))]
        chunk.append(orjson.dumps({"seq": seq, "type": "sale", "occurred_at": at, "lines": items}))
        if len(chunk) == 200:
            yield b"\n".join(chunk) + b"\n"
            chunk = []
    if chunk:
        yield b"\n".join(chunk) + b"\n"


class PeakMemory:
    """The largest summed resident set of a process and its children, sampled every 20 ms."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak_kb, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stop.wait(0.02):
            self.peak_kb = max(self.peak_kb, sum(_rss_kb(p) for p in with_descendants(self.pid)))


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def upload(port: int, lines: int) -> dict[str, int]:
    outcomes: dict[str, int] = {}
    url = f"http://127.0.0.1:{port}/tills/{TILL}/journals"
    with (
        httpx.Client(timeout=600) as client,
        client.stream("POST", url, content=journal(lines), headers=HEADERS) as answer,
    ):
        answer.raise_for_status()
        for raw in answer.iter_lines():
            line = orjson.loads(raw)
            if "outcome" in line:
                key = str(line["outcome"]) + ("_conflicted" if line.get("reconciliation") else "")
                outcomes[key] = outcomes.get(key, 0) + 1
    return outcomes


def journal_run(postgres: str, dbname: str, lines: int, **env: str) -> dict[str, Any]:
    """One upload on a fresh database to `glow serve` started with `env`: its rate, the CPU
    of the server and its writer per line, and their resident memory idle and at the peak."""
    url = fresh_database(postgres, dbname)
    subprocess.run([GLOW, "--store", url, "migrate"], check=True, capture_output=True)
    seed(url, carts=20)
    with served(url, **env) as (port, server):
        served_by = with_descendants(server.pid)
        idle_kb = sum(_rss_kb(p) for p in served_by)
        backends = database_backends(url)
        with PeakMemory(server.pid) as memory:
            api_before, cpu_before = cpu_seconds([server.pid]), cpu_seconds(served_by)
            pg_before, own_before = cpu_seconds(backends), time.process_time()
            started = time.perf_counter()
            outcomes = upload(port, lines)
            elapsed = time.perf_counter() - started
            cpu = cpu_seconds(served_by) - cpu_before
            api_cpu = cpu_seconds([server.pid]) - api_before
            pg_cpu, own_cpu = cpu_seconds(backends) - pg_before, time.process_time() - own_before
    applied = max(outcomes.get("applied", 0) + outcomes.get("applied_conflicted", 0), 1)
    spent = (cpu + pg_cpu + own_cpu) / applied  # CPU seconds a line costs this machine
    return {
        "lines_per_s": round(applied / elapsed, 1),
        "seconds": round(elapsed, 2),
        "peak_rss_mb": round(memory.peak_kb / 1024, 1),
        "idle_rss_mb": round(idle_kb / 1024, 1),
        "server_cpu_us_per_line": round(cpu / applied * 1e6),
        "api_cpu_us_per_line": round(api_cpu / applied * 1e6),
        "writer_cpu_us_per_line": round((cpu - api_cpu) / applied * 1e6),
        "postgres_cpu_us_per_line": round(pg_cpu / applied * 1e6),
        "client_cpu_us_per_line": round(own_cpu / applied * 1e6),
        # the most lines/s these costs allow: every core busy, or the writer (one thread) alone
        "cpu_ceiling_lines_per_s": round((os.cpu_count() or 1) / spent),
        "writer_ceiling_lines_per_s": round(applied / max(cpu - api_cpu, 1e-9)),
        "conflicted_lines": outcomes.get("applied_conflicted", 0),
        "outcomes": outcomes,
    }


def database_backends(url: str) -> list[int]:
    """The PostgreSQL backends serving `url`'s database (the server's pools, once started)."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()"
        ).fetchall()
    return [int(row[0]) for row in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="finish in under 60 s")
    parser.add_argument("--lines", type=int, default=50_000)
    parser.add_argument("--clients", type=int, default=8, help="pgbench clients")
    parser.add_argument("--orders", type=int, default=None, help="orders of the webhook backlog")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("GLOW_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432"),
    )
    args = parser.parse_args()
    dbname = os.environ.get("GLOW_BENCH_DB", "glow_bench_tills")
    ensure_postgres(args.postgres)
    node = journal_run(args.postgres, dbname, args.lines, GLOW_WEBHOOKS="0")
    embedded = journal_run(args.postgres, dbname, args.lines, GLOW_WEBHOOKS="1")
    tps = pgbench(args.postgres, dbname, args.clients, 5 if args.quick else 10)
    orders = args.orders or (2000 if args.quick else 10_000)
    hooks = webhook_figures(args.postgres, dbname, orders, 100.0, 3.0 if args.quick else 10.0)
    figures = {
        "journal_lines": args.lines,
        "journal_lines_per_s": node["lines_per_s"],
        "pgbench_tps": round(tps, 1),
        "journal_ratio": round(node["lines_per_s"] / tps, 3),
        "upload_peak_rss_mb": max(node["peak_rss_mb"], embedded["peak_rss_mb"]),
        **{
            k: node[k]
            for k in (
                "server_cpu_us_per_line",
                "api_cpu_us_per_line",
                "writer_cpu_us_per_line",
                "postgres_cpu_us_per_line",
                "client_cpu_us_per_line",
                "cpu_ceiling_lines_per_s",
                "writer_ceiling_lines_per_s",
            )
        },
        "idle_rss_mb": node["idle_rss_mb"],
        "conflicted_lines": node["conflicted_lines"],
        "outcomes": node["outcomes"],
        "delivering_lines_per_s": embedded["lines_per_s"],
        "delivering_ratio": round(embedded["lines_per_s"] / tps, 3),
        "delivering_api_cpu_us_per_line": embedded["api_cpu_us_per_line"],
        "delivering_writer_cpu_us_per_line": embedded["writer_cpu_us_per_line"],
        "delivering_idle_rss_mb": embedded["idle_rss_mb"],
        "delivering_peak_rss_mb": embedded["peak_rss_mb"],
        "webhooks_per_s": hooks["webhooks_per_s"],
        "webhook_latency_p50_ms": hooks["webhook_latency_p50_ms"],
        "webhook_latency_p99_ms": hooks["webhook_latency_p99_ms"],
        "webhook_backlog_deliveries": hooks["backlog_deliveries"],
    }
    print(
        f"journal of {args.lines} lines over HTTP to a command node: {node['lines_per_s']} "
        f"lines/s ({node['seconds']} s), pgbench {figures['pgbench_tps']} TPS "
        f"({args.clients} clients): ratio {figures['journal_ratio']} (target >= 1.0); server "
        f"CPU {node['server_cpu_us_per_line']} us/line (API {node['api_cpu_us_per_line']}, "
        f"writer {node['writer_cpu_us_per_line']}), PostgreSQL {node['postgres_cpu_us_per_line']}, "
        f"client {node['client_cpu_us_per_line']}: at most {node['cpu_ceiling_lines_per_s']} "
        f"lines/s on {os.cpu_count()} cores, {node['writer_ceiling_lines_per_s']} for the writer "
        f"alone; with glow serve delivering webhooks too: "
        f"{embedded['lines_per_s']} lines/s (API {embedded['api_cpu_us_per_line']} us/line); "
        f"peak RSS of server and writer {figures['upload_peak_rss_mb']} MB (target < 300, idle "
        f"{node['idle_rss_mb']}/{embedded['idle_rss_mb']}); webhooks {hooks['webhooks_per_s']} "
        f"deliveries/s, commit to receipt p50 {hooks['webhook_latency_p50_ms']} ms, p99 "
        f"{hooks['webhook_latency_p99_ms']} ms"
    )
    print(orjson.dumps(figures).decode())


if __name__ == "__main__":
    main()
