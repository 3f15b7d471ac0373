"""Ceilings of the command path without its later stages: the command API served by uvicorn
exactly as `glow serve` runs it, with

- `--stage answer` (default): the command writer answering every command at once, without
  deciding or saving it (in-process, GLOW_WRITER_PROCESS=0): HTTP alone;
- `--stage decide`: the real writer process deciding every command and encoding its events,
  with only the PostgreSQL append left out: everything but the database's part.

    .venv/bin/python scripts/bench_http_ceiling.py                  # about 30 s
    .venv/bin/python scripts/bench_http_ceiling.py --stage decide   # about 40 s
    .venv/bin/python scripts/bench_http_ceiling.py --clients 16

Drives reserve+confirm as scripts/bench_commands.py does and prints commands/s against
pgbench's single-row INSERT in the same run: no ledger built this way can answer faster on
this machine, so it tells how much of bench_commands' ratio target the later stages may use
up. The last line is one JSON object.

Benchmark tooling only: the stages are left out in this script's own server process (and the
writer process it starts), never in the product.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_commands import (  # noqa: E402
    GLOW,
    command_node_env,
    drive,
    load_figures,
    pgbench,
    seed,
    warm,
)
from bench_services import (  # noqa: E402
    cpu_seconds,
    ensure_postgres,
    free_port,
    fresh_database,
    wait_for_http,
    with_descendants,
)
from http_load import run_client  # noqa: E402


def serve(port: int, stage: str) -> None:
    """The server process: the real app and uvicorn settings, a writer cut short."""
    import uvicorn

    from api.app import create_app
    from configuration.settings import Settings
    from service_layer import writer_client
    from service_layer.bootstrap import bootstrap
    from service_layer.command_writer import claim
    from service_layer.writer import Outcome
    from service_layer.writer_thread import InProcessWriter

    if stage == "decide":
        writer_client.serve_writer = writer_saving_nothing  # the process RemoteWriter starts
        runtime = bootstrap(Settings.from_env())
        uvicorn.run(create_app(runtime), port=port, log_level="warning", access_log=False)
        return

    def answer_at_once(self: InProcessWriter) -> None:
        while (submissions := self._next(True)) is not None:
            for submission in claim(submissions):
                reservation_id = getattr(submission.command, "reservation_id", None)
                placing = type(submission.command).__name__ == "PlaceReservation"
                body = {"reservation_id": str(reservation_id), "status": "placed"}
                submission.future.set_result(Outcome(body, created=placing))
            self._hand_over()

    InProcessWriter._run = answer_at_once  # type: ignore[method-assign]
    runtime = bootstrap(Settings.from_env())
    uvicorn.run(create_app(runtime), port=port, log_level="warning", access_log=False)


def writer_saving_nothing(settings: object, path: str) -> None:
    """The writer process, deciding and encoding as ever, its append to PostgreSQL a no-op."""
    from service_layer import writer_server
    from storage import group_append

    group_append.AppendChannel.send = lambda self, params: None  # type: ignore[method-assign]
    group_append.AppendChannel.receive = lambda self: []  # type: ignore[method-assign]
    writer_server.serve_writer(settings, path)  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--stage", choices=("answer", "decide"), default="answer")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("GLOW_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432"),
    )
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.stage)
        return
    ensure_postgres(args.postgres)
    dbname = "glow_bench_ceiling"
    url = fresh_database(args.postgres, dbname)
    subprocess.run([GLOW, "--store", url, "migrate"], check=True, capture_output=True)
    skus = ["SKU-0001"]
    if args.stage == "decide":
        skus = [f"SKU-{i:04d}" for i in range(200)]
        seed(url, len(skus), 0)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port), "--stage", args.stage],
        env=command_node_env(url, GLOW_WRITER_PROCESS="0" if args.stage == "answer" else "1"),
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health", 60)
        if args.stage == "decide":
            run_client(warm(port, args.clients, skus))
        run_client(drive(port, args.clients, 1.5, skus))  # warm up
        served_by = with_descendants(server.pid)
        before = (cpu_seconds(served_by), time.process_time())
        load = run_client(drive(port, args.clients, args.duration, skus))
        after = (cpu_seconds(served_by), time.process_time())
    finally:
        server.terminate()
        server.wait(10)
    tps = pgbench(args.postgres, dbname, args.clients, int(args.duration))
    figures = {
        **load_figures(args.clients, load, tps),
        "server_cpu_us_per_command": round((after[0] - before[0]) / load["commands"] * 1e6),
        "loadgen_cpu_us_per_command": round((after[1] - before[1]) / load["commands"] * 1e6),
    }
    what = {"answer": "writer answers at once", "decide": "writer decides, saves nothing"}
    print(
        f"command path cut short ({what[args.stage]}), {args.clients} clients: "
        f"{figures['commands_per_s']} commands/s, p50 {figures['p50_ms']} ms; "
        f"server CPU {figures['server_cpu_us_per_command']} us/command"
    )
    print(
        f"pgbench single-row INSERT: {figures['pgbench_tps']} tps; this ceiling is "
        f"{figures['ratio']} x pgbench (bench_commands' target: 0.25)"
    )
    print(orjson.dumps(figures).decode())


if __name__ == "__main__":
    main()
