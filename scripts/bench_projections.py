"""Projection speed and freshness of the cluster path (relay + Faust worker on Tansu) against
the embedded driver, in one run, on this machine's PostgreSQL and Redis.

    .venv/bin/python scripts/bench_projections.py --quick     # under 60 s
    .venv/bin/python scripts/bench_projections.py --events 100000 --seconds 30

Measures:
- lag_p50_ms / lag_p99_ms: from a command's commit (its `execute` returned) to the moment the
  Redis hot views' position reaches the command's last event (what the read API calls
  `behind == 0`), with commands sent at a steady --rate (300/s) through the relay and worker;
- cluster_events_per_s: a backlog of --events sales carried from the log to Redis and chDB by
  the relay and an already running worker, from the relay's first acknowledged page to the
  worker's watermark at the head (cluster_events_per_s_with_start: from launching the relay);
- embedded_events_per_s: the same events projected by the embedded driver (catch_up into
  Redis and chDB together), and cluster_vs_embedded, their ratio;
- rebuild_redis_ratio / rebuild_clickhouse_ratio: `glow rebuild` of each store alone (replay
  into a fresh generation / shadow database, then the swap), as a ratio to reading the same
  rows from PostgreSQL raw; each rebuild runs --rounds times (3) between raw reads, and the
  medians are compared, so that a burst of load elsewhere weighs on both sides alike;
- clickhouse_speedup: daily sales by channel over --sales-lines sales lines (1,000,000;
  40,000 with --quick; clickhouse_sales_lines says how many) in ClickHouse (chDB) against the
  same question in SQL over the PostgreSQL event table; the two answers are compared. The log
  is topped up to that many lines with sales generated in SQL in the ledger's stored form
  (scripts/bulk_sales.py), projected into ClickHouse by the rebuild's pass.
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import psycopg
import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

from tests.integration.cluster.processes import seed, sell, start, trace  # noqa: E402

from bench_services import ensure_postgres, free_port, fresh_database  # noqa: E402
from bulk_sales import check_stored_form, write_sales  # noqa: E402
from cli.dev_broker import start_tansu  # noqa: E402
from cli.dev_processes import stop, stop_all  # noqa: E402
from configuration.settings import Settings, eventsourcing_env  # noqa: E402
from domain import commands as c  # noqa: E402
from domain.ledger import InventoryLedger  # noqa: E402
from privacy.master_keys import MasterKeys  # noqa: E402
from projections.clickhouse_facts import ClickHouseFacts  # noqa: E402
from projections.redis_views import RedisHotViews  # noqa: E402
from service_layer.bootstrap import bootstrap  # noqa: E402
from service_layer.read_side import open_analytics  # noqa: E402
from storage.migrations import apply_migrations  # noqa: E402
from streams.embedded_driver import CONSUMER, Sinks, catch_up  # noqa: E402
from streams.log_reader import LogReader  # noqa: E402
from streams.positions import PositionBook  # noqa: E402
from streams.rebuild import rebuild_facts, rebuild_hot_views  # noqa: E402
from streams.replay import replay  # noqa: E402

POOL = 50


def wait_until(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.005)


def head(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT max(notification_id) FROM inventory_events").fetchone()
    return int(row[0] or 0) if row else 0


def wait_for_merges(facts: ClickHouseFacts, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not facts.rows("SELECT count() AS running FROM system.merges")[0]["running"]:
            return
        time.sleep(0.05)


def raw_rate_of(url: str) -> float:
    rows, seconds = raw_read(url)
    return rows / seconds


def raw_read(url: str) -> tuple[int, float]:
    started = time.perf_counter()
    rows = 0
    with psycopg.connect(url) as conn, conn.cursor(name="raw") as cursor:
        cursor.itersize = 10_000
        cursor.execute(
            "SELECT notification_id, originator_id, originator_version, topic, state "
            "FROM inventory_events ORDER BY notification_id"
        )
        for _ in cursor:
            rows += 1
    return rows, time.perf_counter() - started


def measure_lag(
    store_url: str, views: RedisHotViews, rate: float, seconds: float
) -> tuple[list[float], list[float]]:
    """Lags in ms of commands sent at `rate` per second, one writer, to Redis visibility, and
    to the relay's recorded position (published and acknowledged)."""
    samples: list[tuple[float, int]] = []  # (time, position) each time the position moves
    relayed: list[tuple[float, int]] = []  # the same for the relay's position
    done = threading.Event()
    key = views.prefix() + "position:" + CONSUMER

    def watch() -> None:
        last = last_relayed = -1
        book = PositionBook(store_url)
        while not done.is_set():
            position = int(views.client.get(key) or 0)
            if position != last:
                samples.append((time.time(), position))
                last = position
            position = book.get("relay")
            if position != last_relayed:
                relayed.append((time.time(), position))
                last_relayed = position
            time.sleep(0.0005)
        book.close()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    runtime = bootstrap(
        Settings(
            event_store_url=store_url,
            chain_interval_seconds=0,
            sweep_interval_seconds=3600,
            master_key=MasterKeys.generate(),
        )
    )
    runtime.writer.start()
    commits: list[tuple[float, int]] = []
    try:
        with psycopg.connect(store_url, autocommit=True) as conn:
            interval = 1 / rate
            next_at = time.perf_counter()
            for n in range(int(rate * seconds)):
                line = (c.StockLine(f"SKU-{n % POOL:04d}", ("WH", "SHOP")[n % 2], 1),)
                runtime.writer.execute(c.SellDirect(__import__("uuid").uuid4(), line, trace()))
                committed = time.time()
                row = conn.execute("SELECT max(notification_id) FROM inventory_events").fetchone()
                commits.append((committed, int(row[0]) if row else 0))
                next_at += interval
                pause = next_at - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
        last = commits[-1][1]
        wait_until(lambda: bool(samples) and samples[-1][1] >= last, 60, "the last command")
    finally:
        done.set()
        watcher.join(5)
        runtime.close()
    return _lags(commits, samples), _lags(commits, relayed)


def _lags(commits: list[tuple[float, int]], samples: list[tuple[float, int]]) -> list[float]:
    lags = []
    index = 0
    for committed, position in commits:
        while index < len(samples) - 1 and samples[index][1] < position:
            index += 1
        lags.append(max(samples[index][0] - committed, 0.0) * 1000)
    return lags


PG_DAILY_SALES = """
SELECT (s->'trace'->'_data_'->'occurred_at'->>'_data_')::timestamptz::date AS day,
       s->'trace'->'_data_'->>'channel' AS channel,
       sum((SELECT sum(value::bigint) FROM jsonb_each_text(s->'allocations'))) AS units
FROM (SELECT convert_from(state, 'UTF8')::jsonb AS s FROM inventory_events
      WHERE topic = 'domain.stock:Stock.Sold') AS sold
GROUP BY 1, 2 ORDER BY 1, 2
"""
CH_DAILY_SALES = """
SELECT toDate(occurred_at) AS day, channel, sum(quantity) AS units
FROM sales_lines FINAL GROUP BY day, channel ORDER BY day, channel
"""


def best_of(action: Any, repeats: int = 3, budget: float = 30.0) -> tuple[Any, float]:
    """The answer and the best of `repeats` timings; fewer runs once `budget` seconds are
    spent (PostgreSQL takes tens of seconds over a million lines)."""
    timings, answer = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        answer = action()
        timings.append(time.perf_counter() - started)
        if sum(timings) > budget:
            break
    return answer, min(timings)


def grow_sales_history(store_url: str, ledger: InventoryLedger, facts: Any, lines: int) -> None:
    """Top the log up to `lines` sales lines with generated sales in the ledger's stored form,
    and project them into `facts` with the rebuild's pass (the real fact projector)."""
    have = int(facts.client.query("SELECT count() FROM sales_lines FINAL").result_rows[0][0])
    started = time.perf_counter()
    write_sales(store_url, lines - have)
    check_stored_form(store_url, ledger)
    written = time.perf_counter()
    projected = replay(LogReader(ledger), Sinks(facts=facts))
    print(
        f"sales history: {lines - have} lines written in {written - started:.1f} s, "
        f"{projected} events projected in {time.perf_counter() - written:.1f} s",
        flush=True,
    )


def daily_sales_speedup(store_url: str, facts: Any, budget: float) -> tuple[float, int]:
    """Daily sales by channel: SQL over the PostgreSQL event table vs ClickHouse facts; the two
    answers must agree. Returns the ratio of their times and the number of sales lines."""
    with psycopg.connect(store_url) as conn:
        pg, pg_seconds = best_of(
            lambda: [(str(d), ch, int(u)) for d, ch, u in conn.execute(PG_DAILY_SALES)],
            budget=budget,
        )
    ch, ch_seconds = best_of(
        lambda: [(str(d), c, int(u)) for d, c, u in facts.client.query(CH_DAILY_SALES).result_rows]
    )
    if pg != ch:
        raise SystemExit(f"the two answers differ: PostgreSQL {pg[:3]} ClickHouse {ch[:3]}")
    lines = facts.client.query("SELECT count() FROM sales_lines FINAL").result_rows[0][0]
    return pg_seconds / ch_seconds, int(lines)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="finish in under 60 s")
    parser.add_argument("--events", type=int, default=50_000, help="backlog of sales")
    parser.add_argument("--rate", type=float, default=300.0, help="commands/s for the lag")
    parser.add_argument("--seconds", type=float, default=20.0, help="duration of the lag run")
    parser.add_argument("--rounds", type=int, default=3, help="rebuilds of each store")
    parser.add_argument(
        "--sales-lines", type=int, default=1_000_000, help="sales lines for the analyst query"
    )
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument(
        "--database",
        default=os.environ.get("GLOW_BENCH_DB", "glow_bench_projections"),
        help="scratch database (dropped first): give each checkout its own",
    )
    parser.add_argument(
        "--redis", default=os.environ.get("GLOW_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
    )
    args = parser.parse_args()
    if args.quick:
        args.events, args.seconds, args.sales_lines = 20_000, 6.0, 40_000

    ensure_postgres(args.postgres)
    redis.Redis.from_url(args.redis).ping()
    store_url = fresh_database(args.postgres, args.database)
    apply_migrations(store_url)
    work = Path(tempfile.mkdtemp(prefix="glow-bench-projections-"))
    port = free_port()
    tansu = start_tansu(port, work / "tansu.log")
    token = secrets.token_hex(3)
    cluster = Settings(
        event_store_url=store_url,
        broker_url=f"kafka://127.0.0.1:{port}",
        topic_prefix=f"b{token}.",
        hot_views_url=f"{args.redis}?namespace=glow-bench-{token}",
        analytics_url=f"chdb://{work / 'worker-chdb'}",
    )
    live_views = RedisHotViews.from_url(args.redis, f"glow-bench-{token}")
    log = work / "processes.log"
    result: dict[str, Any] = {"events": args.events, "rate": args.rate}
    book = PositionBook(store_url)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        relay = start(cluster, "relay", log=log)
        worker = start(
            cluster,
            "worker",
            "--web-port",
            str(free_port()),
            "--data-dir",
            str(work / "faust"),
            log=log,
        )
        processes += [relay, worker]
        seed(store_url, sales=0, pool=POOL)  # while the worker boots and joins its group
        first = head(store_url)
        wait_until(lambda: book.get("worker") >= first, 60, "the worker to start")
        print("relay and worker ready", flush=True)

        # 1. A backlog through relay + worker: the relay stopped, the worker running.
        stop(relay)
        sell(store_url, args.events, POOL)
        target = head(store_url)
        launched = time.perf_counter()
        relay = start(cluster, "relay", log=log)
        processes.append(relay)
        wait_until(lambda: book.get("relay") > first, 60, "the relay's first page")
        started = time.perf_counter()  # the relay's first page is acknowledged
        relayed = book.get("relay")
        wait_until(lambda: book.get("worker") >= target, 300, "the worker to reach the head")
        finished = time.perf_counter()
        backlog = target - first
        result["cluster_events_per_s"] = round((target - relayed) / (finished - started))
        result["cluster_events_per_s_with_start"] = round(backlog / (finished - launched))
        print(f"cluster: {backlog} events in {finished - launched:.2f} s", flush=True)

        # 2. Freshness at a steady rate through the running relay + worker.
        lags, relay_lags = measure_lag(store_url, live_views, args.rate, args.seconds)
        result["relay_lag_p50_ms"] = round(percentile(relay_lags, 0.50), 1)
        result["relay_lag_p99_ms"] = round(percentile(relay_lags, 0.99), 1)
        result["lag_p50_ms"] = round(percentile(lags, 0.50), 1)
        result["lag_p99_ms"] = round(percentile(lags, 0.99), 1)
        result["lag_max_ms"] = round(max(lags), 1)
        result["lag_commands"] = len(lags)
        print(f"lag over {len(lags)} commands: p50 {result['lag_p50_ms']} ms", flush=True)
        stopping = time.perf_counter()
        stop_all(processes)
        print(f"relay and worker stopped in {time.perf_counter() - stopping:.1f} s", flush=True)

        # 3. The embedded driver and rebuilds over the whole log, and the raw read.
        raw_rates = [raw_rate_of(store_url)]
        ledger = InventoryLedger(env=eventsourcing_env(store_url))
        facts = open_analytics(f"chdb://{work / 'embedded-chdb'}?database=both")
        alone = open_analytics(f"chdb://{work / 'embedded-chdb'}?database=alone")
        views = [RedisHotViews.from_url(args.redis, f"glow-bench-{token}-{n}") for n in (1, 2)]
        try:
            started = time.perf_counter()
            events = catch_up(LogReader(ledger), Sinks(hot_views=views[0], facts=facts))
            rates = {"embedded": events / (time.perf_counter() - started)}
            rebuilds: dict[str, list[float]] = {"redis": [], "clickhouse": []}
            for _ in range(args.rounds):
                for name, rebuild in (
                    ("redis", lambda: rebuild_hot_views(LogReader(ledger), views[1], show=False)),
                    ("clickhouse", lambda: rebuild_facts(LogReader(ledger), alone, show=False)),
                ):
                    started = time.perf_counter()
                    rebuilt = rebuild()
                    rebuilds[name].append(rebuilt.events / (time.perf_counter() - started))
                # The swapped-in tables merge in the background: let them finish, so that
                # they slow neither the raw read nor the next rebuild.
                wait_for_merges(alone)
                raw_rates.append(raw_rate_of(store_url))
            print(f"raw reads (rows/s): {[round(r) for r in raw_rates]}", flush=True)
            print(
                f"rebuilds (events/s): { {k: [round(r) for r in v] for k, v in rebuilds.items()} }"
            )
            rates.update({name: statistics.median(found) for name, found in rebuilds.items()})
            raw_rate = statistics.median(raw_rates)
            grow_sales_history(store_url, ledger, facts, args.sales_lines)
            print(f"rebuilds: {rates}", flush=True)
            speedup, lines = daily_sales_speedup(store_url, facts, 2.0 if args.quick else 60.0)
            result["clickhouse_speedup"] = round(speedup, 1)
            result["clickhouse_sales_lines"] = lines
        finally:
            for view in views:
                view.drop_everything()
            facts.close()
            alone.close()
            ledger.close()
        result["embedded_events_per_s"] = round(rates["embedded"])
        result["cluster_vs_embedded"] = round(result["cluster_events_per_s"] / rates["embedded"], 2)
        result["raw_read_rows_per_s"] = round(raw_rate)
        result["rebuild_redis_ratio"] = round(rates["redis"] / raw_rate, 3)
        result["rebuild_clickhouse_ratio"] = round(rates["clickhouse"] / raw_rate, 3)
    finally:
        for process in processes:
            stop(process)
        book.close()
        live_views.drop_everything()
        tansu.terminate()
        tansu.wait(10)
    for key, value in result.items():
        print(f"{key:28} {value}")
    print(orjson.dumps(result).decode())


if __name__ == "__main__":
    main()
