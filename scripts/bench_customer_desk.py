"""Customer commands through the customer desk on PostgreSQL: commands/s, latency, and this
process's CPU per command, for this checkout or another's `src/` (before the desk used the
writer, it decided and saved each command alone in the caller's thread, under a lock).

    GLOW_BENCH_DB=glow_bench_writer .venv/bin/python scripts/bench_customer_desk.py
    .venv/bin/python scripts/bench_customer_desk.py --source /tmp/other/src  # with migrations/

Each customer is registered, then changes their skin profile and adds two SKUs to their
wishlist: four commands, from `--threads` callers at once (the API runs customer commands in
its thread pool). The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=400)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--source", default=str(ROOT / "src"), help="the src/ to measure")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("GLOW_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432"),
    )
    args = parser.parse_args()
    sys.path.insert(0, args.source)
    sys.path.insert(1, str(ROOT / "scripts"))
    from bench_services import fresh_database

    url = fresh_database(args.postgres, os.environ.get("GLOW_BENCH_DB", "glow_bench_customers"))
    glow = [sys.executable, "-c", "from cli.main import main; raise SystemExit(main())"]
    env = {**os.environ, "PYTHONPATH": args.source}
    subprocess.run([*glow, "--store", url, "migrate"], check=True, capture_output=True, env=env)
    print(orjson_line(run(url, args.customers, args.threads)))


def run(url: str, customers: int, threads: int) -> dict[str, Any]:
    from configuration.settings import Settings
    from domain import customer_commands as c
    from domain.trace import Trace
    from privacy.master_keys import MasterKeys
    from privacy.pseudonyms import Pseudonyms
    from service_layer.customer_desk import CustomerDesk
    from service_layer.customer_store import close_customer_ledger, open_customer_ledger

    ledger = open_customer_ledger(Settings(event_store_url=url, master_key=MasterKeys.generate()))
    pseudonyms = Pseudonyms.from_secret(ledger.vault.ledger_secret())
    desk = CustomerDesk(ledger)
    trace = Trace("web", "bench", datetime.now(tz=UTC))
    latencies: list[float] = []

    def one_customer(n: int) -> None:
        customer_id = uuid.uuid4()
        claim = c.IdentityClaim("email", pseudonyms.identity_id("email", f"p{n}@example.com"))
        commands: list[c.CustomerCommand] = [
            c.RegisterCustomer(customer_id, {"name": f"P{n}"}, (claim,), trace),
            c.ChangeSkinProfile(customer_id, {"skin_type": "dry"}, trace),
            c.AddToWishlist(customer_id, "SKU-1", trace),
            c.AddToWishlist(customer_id, "SKU-2", trace),
        ]
        for command in commands:
            started = time.perf_counter()
            desk.execute(command, uuid.uuid4().hex, "f")
            latencies.append(time.perf_counter() - started)

    def caller(first: int) -> None:
        for n in range(first, customers, threads):
            one_customer(n)

    one_customer(customers)  # warm up: connections, code paths
    latencies.clear()
    cpu, wall = time.process_time(), time.perf_counter()
    callers = [threading.Thread(target=caller, args=(k,)) for k in range(threads)]
    for thread in callers:
        thread.start()
    for thread in callers:
        thread.join()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    getattr(desk, "close", lambda: None)()  # a desk without a writer has nothing to stop
    close_customer_ledger(ledger)
    commands = len(latencies)
    latencies.sort()
    return {
        "threads": threads,
        "commands": commands,
        "commands_per_s": round(commands / wall, 1),
        "cpu_us_per_command": round(cpu / commands * 1e6),
        "latency_ms_mean": round(statistics.fmean(latencies) * 1e3, 2),
        "latency_ms_p99": round(latencies[int(commands * 0.99)] * 1e3, 2),
    }


def orjson_line(figures: dict[str, Any]) -> str:
    import orjson

    return orjson.dumps(figures).decode()


if __name__ == "__main__":
    main()
