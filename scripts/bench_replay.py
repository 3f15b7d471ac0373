"""Replay and verification speed against raw psycopg reads of the same rows, in the same run.

    .venv/bin/python scripts/bench_replay.py --quick      # under 60 s
    .venv/bin/python scripts/bench_replay.py --history 50000 --others 50000

Seeds one stock aggregate with `--history` events (direct sales of one unit) plus `--others`
events over a pool of SKUs, through the real group-commit writer. Then measures, each as
events/s and as a ratio to reading the same rows with plain psycopg:
- replay of the full log (notification log -> domain events -> every aggregate rebuilt),
- replay of the one aggregate (all its events, no snapshot),
- `glow verify` (recompute the hash chain from the stored rows and compare).
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

from audit.chain_follower import extend_chain  # noqa: E402
from audit.chain_verification import verify_chain  # noqa: E402
from audit.history import recorded_events  # noqa: E402
from audit.log_replay import replay_log  # noqa: E402
from audit.time_travel import replay  # noqa: E402
from bench_services import ensure_postgres, fresh_database  # noqa: E402
from configuration.settings import Settings  # noqa: E402
from domain import commands as c  # noqa: E402
from domain.ids import stock_id  # noqa: E402
from domain.trace import Trace  # noqa: E402
from privacy.master_keys import MasterKeys  # noqa: E402
from service_layer.bootstrap import bootstrap  # noqa: E402

GLOW = str(ROOT / ".venv" / "bin" / "glow")
HOT, WHERE = "HOT-SKU", "WH"
RAW_LOG = (
    "SELECT notification_id, originator_id, originator_version, topic, state "
    "FROM inventory_events ORDER BY notification_id"
)
RAW_AGGREGATE = (
    "SELECT originator_id, originator_version, topic, state FROM inventory_events "
    "WHERE originator_id = %s ORDER BY originator_version"
)


def trace() -> Trace:
    return Trace(channel="pos", principal="bench", occurred_at=datetime.now(tz=UTC))


def seed(url: str, history: int, others: int, pool: int) -> None:
    runtime = bootstrap(Settings(event_store_url=url, master_key=MasterKeys.generate()))
    runtime.writer.start()
    w = runtime.writer
    try:
        w.execute(c.RegisterLocation(WHERE, "Bench warehouse", "warehouse", 52.0, 4.0, trace()))
        skus = [HOT] + [f"SKU-{i:04d}" for i in range(pool)]
        variants = tuple(c.VariantSpec(s, {}, Decimal("9.90"), "EUR") for s in skus)
        w.execute(c.DefineProduct("BENCH", {"name": "Bench serum"}, variants, trace()))
        for sku in skus:
            w.execute(c.ReceiveBatch(sku, WHERE, "B1", date(2030, 1, 1), 10_000_000, None, trace()))
        pending = []
        for n in range(history + others):
            sku = HOT if n < history else skus[1 + n % pool]
            line = (c.StockLine(sku, WHERE, 1),)
            pending.append(w.submit(c.SellDirect(uuid.uuid4(), line, trace())))
            if len(pending) >= 5000:
                for future in pending:
                    future.result()
                pending.clear()
        for future in pending:
            future.result()
    finally:
        runtime.close()


def timed(action: Callable[[], int]) -> tuple[int, float]:
    started = time.perf_counter()
    count = action()
    return count, time.perf_counter() - started


def raw_rows(url: str, query: str, params: tuple[Any, ...] = ()) -> int:
    count = 0
    with psycopg.connect(url) as conn, conn.cursor(name="raw") as cursor:
        cursor.itersize = 10_000
        cursor.execute(query, params)  # type: ignore[arg-type]
        while batch := cursor.fetchmany(10_000):
            count += len(batch)
    return count


def best_rate(action: Callable[[], int], repeats: int) -> tuple[int, float]:
    """Events per second of the fastest of `repeats` runs (the first warms the caches)."""
    runs = [timed(action) for _ in range(repeats)]
    count, seconds = min(runs, key=lambda run: run[1])
    return count, count / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="finish in under 60 s")
    parser.add_argument("--history", type=int, default=50_000, help="events of the one aggregate")
    parser.add_argument("--others", type=int, default=50_000, help="events on other SKUs")
    parser.add_argument("--skus", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("GLOW_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432"),
    )
    args = parser.parse_args()
    if args.quick:
        args.others, args.skus, args.repeats = 10_000, 200, 3
    ensure_postgres(args.postgres)
    url = fresh_database(args.postgres, "glow_bench_replay")
    subprocess.run([GLOW, "--store", url, "migrate"], check=True, capture_output=True)
    started = time.perf_counter()
    seed(url, args.history, args.others, args.skus)
    seeded = time.perf_counter() - started
    print(f"seeded in {seeded:.1f} s", flush=True)

    from configuration.settings import eventsourcing_env
    from domain.ledger import InventoryLedger

    ledger = InventoryLedger(env=eventsourcing_env(url))
    hot = stock_id(HOT, WHERE)
    chained, chain_seconds = timed(lambda: extend_chain(url))
    figures: dict[str, Any] = {"chain_events_per_s": round(chained / chain_seconds)}
    log_rows, figures["raw_log_rows_per_s"] = best_rate(
        lambda: raw_rows(url, RAW_LOG), args.repeats
    )
    _, figures["replay_log_events_per_s"] = best_rate(
        lambda: replay_log(ledger).events, args.repeats
    )
    hot_rows, figures["raw_aggregate_rows_per_s"] = best_rate(
        lambda: raw_rows(url, RAW_AGGREGATE, (hot,)), args.repeats
    )
    _, figures["replay_aggregate_events_per_s"] = best_rate(
        lambda: _replayed_version(ledger, hot), args.repeats
    )
    _, figures["verify_events_per_s"] = best_rate(
        lambda: verify_chain(url, None).rows_checked, args.repeats
    )
    ledger.close()
    figures = {k: round(v) for k, v in figures.items()}
    result = {
        "replay_log_ratio": round(
            figures["replay_log_events_per_s"] / figures["raw_log_rows_per_s"], 3
        ),
        "replay_aggregate_ratio": round(
            figures["replay_aggregate_events_per_s"] / figures["raw_aggregate_rows_per_s"], 3
        ),
        "verify_ratio": round(figures["verify_events_per_s"] / figures["raw_log_rows_per_s"], 3),
        "log_events": log_rows,
        "aggregate_events": hot_rows,
        "seed_seconds": round(seeded, 1),
        **figures,
    }
    for key, value in result.items():
        print(f"{key:32} {value}")
    print(orjson.dumps(result).decode())


def _replayed_version(ledger: Any, aggregate_id: uuid.UUID) -> int:
    aggregate = replay(recorded_events(ledger, aggregate_id))
    assert aggregate is not None
    return int(aggregate.version)


if __name__ == "__main__":
    main()
