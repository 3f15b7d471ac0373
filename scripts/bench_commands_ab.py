"""Command throughput of this checkout against another revision (or another setting), in one
window: two servers, each on its own database, driven alternately in short bursts so that a
burst of load elsewhere on a shared machine weighs on both alike.

    .venv/bin/python scripts/bench_commands_ab.py --baseline 6c80c97
    .venv/bin/python scripts/bench_commands_ab.py --baseline HEAD --env-b GLOW_WRITER_PROCESS=0
    .venv/bin/python scripts/bench_commands_ab.py --baseline HEAD --otlp-sink \
        --env-b GLOW_TRACING=1 --env-b GLOW_TRACE_SAMPLE_RATIO=1.0

With --otlp-sink both servers export to a local OTLP/HTTP sink (scripts/otlp_sink.py), so a
side with tracing on exports its spans for real.

The baseline runs from a temporary `git worktree` of that revision, with this checkout's
virtual environment (its dependencies must be the same). Prints each side's commands/s, p99 and
server CPU per command, and the throughput ratio of this checkout (B) to the baseline (A).
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
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
    cpu_seconds,
    ensure_postgres,
    free_port,
    fresh_database,
    wait_for_http,
    wait_for_sweeper,
    with_descendants,
)
from http_load import run_client  # noqa: E402
from otlp_sink import OtlpSink  # noqa: E402


def worktree(stack: ExitStack, revision: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix="glow-ab-")) / "baseline"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), revision],
        check=True,
        capture_output=True,
    )
    stack.callback(
        subprocess.run,
        ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)],
        check=False,
        capture_output=True,
    )
    return path


def glow_command(source: Path) -> list[str]:
    """`glow` as that revision's source has it: its module moved from api/cli.py to cli/main.py."""
    module = "cli.main" if (source / "cli" / "main.py").exists() else "api.cli"
    return [sys.executable, "-m", module]


def start_server(
    stack: ExitStack, source: Path, url: str, extra: dict[str, str]
) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    serve = ["--store", url, "serve", "--port", str(port), "--log-level", "warning"]
    server = subprocess.Popen(
        [*glow_command(source), *serve],
        # PYTHONPATH goes ahead of the venv's own (editable) path to src/.
        env=command_node_env(url, PYTHONPATH=str(source), GLOW_WRITER_PROCESS="1", **extra),
    )
    stack.callback(server.wait, 10)
    stack.callback(server.terminate)
    return server, port


def settings(pairs: list[str]) -> dict[str, str]:
    found = dict(pair.split("=", 1) for pair in pairs)
    return {key.strip(): value for key, value in found.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="HEAD", help="git revision for side A")
    parser.add_argument("--env-a", action="append", default=[], help="NAME=value for A")
    parser.add_argument("--env-b", action="append", default=[], help="NAME=value for B")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--burst", type=float, default=1.5, help="seconds per burst")
    parser.add_argument("--skus", type=int, default=200)
    parser.add_argument(
        "--otlp-sink",
        action="store_true",
        help="export spans (of a side with GLOW_TRACING=1) to a local OTLP/HTTP sink",
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get("GLOW_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432"),
    )
    parser.add_argument(
        "--database",
        default=os.environ.get("GLOW_BENCH_DB", "glow_bench_ab"),
        help="prefix of the two scratch databases (_a, _b); GLOW_BENCH_DB, so that two "
        "checkouts can bench side by side",
    )
    args = parser.parse_args()
    ensure_postgres(args.postgres)
    skus = [f"SKU-{i:04d}" for i in range(args.skus)]
    with ExitStack() as stack:
        sources = {"A": worktree(stack, args.baseline) / "src", "B": ROOT / "src"}
        extras = {"A": settings(args.env_a), "B": settings(args.env_b)}
        sink = OtlpSink(stack) if args.otlp_sink else None
        if sink is not None:
            for extra in extras.values():
                extra.setdefault("OTEL_EXPORTER_OTLP_ENDPOINT", sink.url)
        servers = {}
        for side, source in sources.items():
            url = fresh_database(args.postgres, f"{args.database}_{side.lower()}")
            subprocess.run([GLOW, "--store", url, "migrate"], check=True, capture_output=True)
            seed(url, args.skus, 0)
            servers[side] = start_server(stack, source, url, extras[side])
        for _, port in servers.values():
            wait_for_http(f"http://127.0.0.1:{port}/health", 60)
            wait_for_sweeper(f"http://127.0.0.1:{port}", 120, OPERATOR)
            run_client(warm(port, args.clients, skus))
            run_client(drive(port, args.clients, 1.0, skus))
        totals = {
            side: {"commands": 0.0, "seconds": 0.0, "cpu": 0.0, "failures": 0.0} for side in servers
        }
        p99s: dict[str, list[float]] = {side: [] for side in servers}
        for round_ in range(args.rounds):
            for side in ("A", "B") if round_ % 2 == 0 else ("B", "A"):
                server, port = servers[side]
                served_by = with_descendants(server.pid)
                before = cpu_seconds(served_by)
                load = run_client(drive(port, args.clients, args.burst, skus))
                totals[side]["cpu"] += cpu_seconds(served_by) - before
                totals[side]["commands"] += load["commands"]
                totals[side]["failures"] += load["failures"]
                totals[side]["seconds"] += load["commands"] / load["commands_per_s"]
                p99s[side].append(load["p99_ms"])
    rates = {side: total["commands"] / total["seconds"] for side, total in totals.items()}
    figures: dict[str, object] = {"baseline": args.baseline, "clients": args.clients}
    for side, total in totals.items():
        cpu_us = round(total["cpu"] / total["commands"] * 1e6)
        p99 = statistics.median(p99s[side])
        figures[f"{side}_commands_per_s"] = round(rates[side], 1)
        figures[f"{side}_median_p99_ms"] = round(p99, 2)
        figures[f"{side}_server_cpu_us_per_command"] = cpu_us
        figures[f"{side}_failures"] = int(total["failures"])
        what = args.baseline if side == "A" else "this checkout"
        extra = f" {extras[side]}" if extras[side] else ""
        print(
            f"{side} ({what}{extra}): {rates[side]:.0f} commands/s, median p99 {p99:.1f} ms, "
            f"server CPU {cpu_us} us/command, {int(total['failures'])} failed"
        )
    if any(total["failures"] for total in totals.values()):
        # A refused or failed command is answered fast: its rate says nothing of the ledger's.
        print("some commands failed: the comparison is void")
    figures["b_over_a"] = round(rates["B"] / rates["A"], 3)
    if sink is not None:
        figures["otlp_requests"] = sink.requests.value
        figures["otlp_bytes"] = sink.bytes.value
        print(f"OTLP sink: {sink.requests.value} export requests, {sink.bytes.value} bytes")
    print(f"B / A throughput: {figures['b_over_a']}")
    print(orjson.dumps(figures).decode())


if __name__ == "__main__":
    main()
