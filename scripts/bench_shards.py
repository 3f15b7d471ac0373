"""Would sharding the writer help on this machine? Two `glow serve` nodes (each an API process
and a writer process) on one store, each driven on its own half of the SKUs (no aggregate is
written by both), against one node driven by as many clients in all, in alternating bursts.

    .venv/bin/python scripts/bench_shards.py          # about 40 s

Prints both rates and their ratio; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_commands import (  # noqa: E402
    GLOW,
    OPERATOR,
    command_node_env,
    drive,
    seed,
    warm,
)
from bench_services import (  # noqa: E402
    ensure_postgres,
    free_port,
    fresh_database,
    wait_for_http,
    wait_for_sweeper,
)
from http_load import run_client  # noqa: E402


async def both(ports: list[int], clients: int, seconds: float, halves: list[list[str]]) -> float:
    per_node = clients // 2
    pairs = zip(ports, halves, strict=True)
    loads = await asyncio.gather(*(drive(port, per_node, seconds, half) for port, half in pairs))
    if any(load["failures"] for load in loads):
        raise SystemExit("some commands failed: the comparison is void")
    return sum(load["commands_per_s"] for load in loads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--burst", type=float, default=1.5)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("GLOW_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432"),
    )
    args = parser.parse_args()
    ensure_postgres(args.postgres)
    url = fresh_database(args.postgres, "glow_bench_shards")
    subprocess.run([GLOW, "--store", url, "migrate"], check=True, capture_output=True)
    seed(url, 200, 0)
    skus = [f"SKU-{i:04d}" for i in range(200)]
    halves = [skus[:100], skus[100:]]
    rates: dict[str, list[float]] = {"one": [], "two": []}
    with ExitStack() as stack:
        ports = [free_port(), free_port()]
        for port in ports:
            server = subprocess.Popen(
                [GLOW, "--store", url, "serve", "--port", str(port), "--log-level", "warning"],
                # two writers on one store on purpose: the store's writer lock would make
                # the second stand by (storage/writer_lock.py)
                env=command_node_env(url, GLOW_WRITER_LOCK="0"),
            )
            stack.callback(server.wait, 10)
            stack.callback(server.terminate)
        for port, half in zip(ports, halves, strict=True):
            wait_for_http(f"http://127.0.0.1:{port}/health", 60)
            wait_for_sweeper(f"http://127.0.0.1:{port}", 120, OPERATOR)
            run_client(warm(port, args.clients // 2, half))
        for round_ in range(args.rounds):
            for kind in ("one", "two") if round_ % 2 == 0 else ("two", "one"):
                if kind == "one":
                    load = run_client(drive(ports[0], args.clients, args.burst, halves[0]))
                    if load["failures"]:
                        raise SystemExit("some commands failed: the comparison is void")
                    rates["one"].append(load["commands_per_s"])
                else:
                    rates["two"].append(run_client(both(ports, args.clients, args.burst, halves)))
    figures = {kind: round(sum(r) / len(r), 1) for kind, r in rates.items()}
    ratio = round(figures["two"] / figures["one"], 3)
    print(
        f"{args.clients} clients: one node {figures['one']} commands/s; two nodes on disjoint "
        f"SKUs {figures['two']} commands/s; two / one = {ratio}"
    )
    print(orjson.dumps({"clients": args.clients, **figures, "two_over_one": ratio}).decode())


if __name__ == "__main__":
    main()
