"""Command throughput and CPU per command of the two writer transports, in one window:

    A  `glow serve` with its writer as a child process, over a Unix socket (the default)
    B  `glow writer` over TCP (GLOW_WRITER_URL) with `--apis` `glow serve` processes

each on its own database, driven alternately in short bursts (so a burst of load elsewhere
on a shared machine weighs on both alike), with the same reserve+confirm load as
bench_commands_ab.py. CPU per command counts every process of a side (API, its children,
and on B the writer). bench_commands_ab.py cannot do this: it starts one process per side.

    .venv/bin/python scripts/bench_shared_writer.py            # 1 API on B
    .venv/bin/python scripts/bench_shared_writer.py --apis 2   # the load split over 2 APIs

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_commands import GLOW, OPERATOR, command_node_env, drive, seed, warm  # noqa: E402
from bench_services import (  # noqa: E402
    cpu_seconds,
    ensure_postgres,
    free_port,
    fresh_database,
    wait_for_http,
    wait_for_sweeper,
    with_descendants,
)
from http_load import run_client  # noqa: E402


def start(stack: ExitStack, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([GLOW, *command], env=env)
    stack.callback(process.wait, 15)
    stack.callback(process.terminate)
    return process


def serve(stack: ExitStack, url: str, extra: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    command = ["serve", "--port", str(port), "--log-level", "warning"]
    return start(stack, command, command_node_env(url, **extra)), port


async def drive_all(
    ports: list[int], clients: int, seconds: float, skus: list[str]
) -> dict[str, float]:
    """`clients` split over the ports, all at once; figures of the whole."""
    share = [clients // len(ports) + (n < clients % len(ports)) for n in range(len(ports))]
    loads = await asyncio.gather(
        *(drive(port, n, seconds, skus) for port, n in zip(ports, share, strict=True))
    )
    commands = sum(load["commands"] for load in loads)
    return {
        "commands": commands,
        "seconds": max(load["commands"] / load["commands_per_s"] for load in loads),
        "p99_ms": max(load["p99_ms"] for load in loads),
        "failures": sum(load["failures"] for load in loads),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apis", type=int, default=1, help="`glow serve` processes on B")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--burst", type=float, default=1.5, help="seconds per burst")
    parser.add_argument("--skus", type=int, default=200)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("GLOW_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432"),
    )
    parser.add_argument(
        "--database",
        default=os.environ.get("GLOW_BENCH_DB", "glow_bench_shared"),
        help="prefix of the two scratch databases (_a, _b); GLOW_BENCH_DB",
    )
    args = parser.parse_args()
    ensure_postgres(args.postgres)
    skus = [f"SKU-{i:04d}" for i in range(args.skus)]
    secret = secrets.token_hex(32)
    with ExitStack() as stack:
        urls = {}
        for side in ("A", "B"):
            urls[side] = fresh_database(args.postgres, f"{args.database}_{side.lower()}")
            subprocess.run(
                [GLOW, "--store", urls[side], "migrate"], check=True, capture_output=True
            )
            seed(urls[side], args.skus, 0)
        child, child_port = serve(stack, urls["A"], {"GLOW_WRITER_PROCESS": "1"})
        listen, health = free_port(), free_port()
        writer_env = command_node_env(
            urls["B"],
            GLOW_WRITER_LISTEN=f"127.0.0.1:{listen}",
            GLOW_WRITER_SECRET=secret,
            GLOW_METRICS_ADDRESS="127.0.0.1",
            GLOW_METRICS_PORT=str(health),
        )
        writer = start(stack, ["writer"], writer_env)
        wait_for_http(f"http://127.0.0.1:{health}/health/ready", 60)
        api_env = {"GLOW_WRITER_URL": f"tcp://127.0.0.1:{listen}", "GLOW_WRITER_SECRET": secret}
        apis = [serve(stack, urls["B"], api_env) for _ in range(args.apis)]
        sides = {
            "A": ([child], [child_port]),
            "B": ([writer] + [p for p, _ in apis], [n for _, n in apis]),
        }
        for _, ports in sides.values():
            for port in ports:
                wait_for_http(f"http://127.0.0.1:{port}/health/ready", 60)
                wait_for_sweeper(f"http://127.0.0.1:{port}", 120, OPERATOR)
            run_client(warm(ports[0], args.clients, skus))
            run_client(drive_all(ports, args.clients, 1.0, skus))
        totals = {
            side: {"commands": 0.0, "seconds": 0.0, "cpu": 0.0, "failures": 0.0} for side in sides
        }
        p99s: dict[str, list[float]] = {side: [] for side in sides}
        for round_ in range(args.rounds):
            for side in ("A", "B") if round_ % 2 == 0 else ("B", "A"):
                processes, ports = sides[side]
                pids = [pid for process in processes for pid in with_descendants(process.pid)]
                before = cpu_seconds(pids)
                load = run_client(drive_all(ports, args.clients, args.burst, skus))
                totals[side]["cpu"] += cpu_seconds(pids) - before
                for name in ("commands", "seconds", "failures"):
                    totals[side][name] += load[name]
                p99s[side].append(load["p99_ms"])
    figures: dict[str, object] = {"clients": args.clients, "apis_on_b": args.apis}
    names = {"A": "child writer, Unix socket", "B": f"glow writer over TCP, {args.apis} API(s)"}
    rates = {side: total["commands"] / total["seconds"] for side, total in totals.items()}
    for side, total in totals.items():
        cpu_us = round(total["cpu"] / total["commands"] * 1e6)
        p99 = statistics.median(p99s[side])
        figures[f"{side}_commands_per_s"] = round(rates[side], 1)
        figures[f"{side}_median_p99_ms"] = round(p99, 2)
        figures[f"{side}_cpu_us_per_command"] = cpu_us
        figures[f"{side}_failures"] = int(total["failures"])
        print(
            f"{side} ({names[side]}): {rates[side]:.0f} commands/s, median p99 {p99:.1f} ms, "
            f"CPU {cpu_us} us/command (all its processes), {int(total['failures'])} failed"
        )
    if any(total["failures"] for total in totals.values()):
        print("some commands failed: the comparison is void")
    figures["b_over_a"] = round(rates["B"] / rates["A"], 3)
    print(f"B / A throughput: {figures['b_over_a']}")
    print(orjson.dumps(figures).decode())


if __name__ == "__main__":
    main()
