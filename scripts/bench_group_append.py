"""One commit group appended in one call (migration 0006) vs four client statements.

    .venv/bin/python scripts/bench_group_append.py [--groups 300] [--rounds 4]

Both paths go through the real LedgerPostgresRecorder on a scratch database, alternating
rounds so the machine's noise weighs on both alike. A group is 4 command answers and 8 events
(four reserve commands of two events each). Prints the writer's CPU and the wall time per
group for each path and their ratios; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import orjson
from eventsourcing.persistence import StoredEvent

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_services import ensure_postgres, fresh_database  # noqa: E402
from configuration.settings import eventsourcing_env  # noqa: E402
from domain.ledger import InventoryLedger  # noqa: E402
from storage.command_answers import CommandAnswer  # noqa: E402
from storage.migrations import apply_migrations  # noqa: E402
from storage.recorders import LedgerPostgresRecorder  # noqa: E402

STATE = orjson.dumps({"trace": {"channel": "web", "source_ref": "bench"}, "lines": [1] * 40})


def group() -> tuple[list[StoredEvent], list[CommandAnswer]]:
    events = [StoredEvent(uuid.uuid4(), 1, "domain.stock:Stock.Reserved", STATE) for _ in range(8)]
    answers = [CommandAnswer(uuid.uuid4().hex, "f", {"ok": True}, created=True) for _ in range(4)]
    return events, answers


def run(recorder: LedgerPostgresRecorder, one_call: bool, groups: int) -> tuple[float, float]:
    recorder._has_append_function = one_call
    work = [group() for _ in range(groups)]
    cpu, wall = time.process_time(), time.perf_counter()
    for events, answers in work:
        recorder.insert_events(events, command_answers=answers)
    return (
        (time.process_time() - cpu) / groups * 1e6,
        (time.perf_counter() - wall) / groups * 1e6,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("GLOW_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432"),
    )
    args = parser.parse_args()
    ensure_postgres(args.postgres)
    url = fresh_database(args.postgres, "glow_bench_append")
    apply_migrations(url)
    ledger = InventoryLedger(env=eventsourcing_env(url))
    recorder = ledger.recorder
    assert isinstance(recorder, LedgerPostgresRecorder)
    figures: dict[str, list[float]] = {
        k: [] for k in ("call_cpu", "call_wall", "stm_cpu", "stm_wall")
    }
    try:
        run(recorder, True, 50)  # warm the pool and the plans
        run(recorder, False, 50)
        for _ in range(args.rounds):
            cpu, wall = run(recorder, True, args.groups)
            figures["call_cpu"].append(cpu)
            figures["call_wall"].append(wall)
            cpu, wall = run(recorder, False, args.groups)
            figures["stm_cpu"].append(cpu)
            figures["stm_wall"].append(wall)
    finally:
        ledger.close()
    med = {k: statistics.median(v) for k, v in figures.items()}
    result = {
        "one_call_cpu_us_per_group": round(med["call_cpu"]),
        "one_call_wall_us_per_group": round(med["call_wall"]),
        "statements_cpu_us_per_group": round(med["stm_cpu"]),
        "statements_wall_us_per_group": round(med["stm_wall"]),
        "cpu_ratio": round(med["call_cpu"] / med["stm_cpu"], 3),
        "wall_ratio": round(med["call_wall"] / med["stm_wall"], 3),
    }
    print(
        f"one call: {result['one_call_cpu_us_per_group']} us CPU, "
        f"{result['one_call_wall_us_per_group']} us wall per group; four statements: "
        f"{result['statements_cpu_us_per_group']} us CPU, "
        f"{result['statements_wall_us_per_group']} us wall; ratios CPU {result['cpu_ratio']}, "
        f"wall {result['wall_ratio']}"
    )
    print(orjson.dumps(result).decode())


if __name__ == "__main__":
    main()
