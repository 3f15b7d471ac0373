"""The cluster path's real processes for tests and the benchmark: `glow relay` and
`glow worker` as subprocesses, a bulk seeder through the real command writer, and a dump of
chDB facts taken in a process of its own (only one process may open a chDB path)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from cli.dev_processes import launch, stop
from configuration.settings import Settings
from domain import commands as c
from domain.trace import Trace
from service_layer.bootstrap import bootstrap
from tests.e2e.ledger_server import TEST_MASTER_KEY

ROOT = Path(__file__).resolve().parents[3]
GLOW = str(ROOT / ".venv" / "bin" / "glow")
WHERE = ("WH", "SHOP")


def trace(channel: str = "pos") -> Trace:
    return Trace(channel=channel, principal="test", occurred_at=datetime.now(tz=UTC))


def seed(store_url: str, sales: int, pool: int = 50) -> None:
    """A catalog of `pool` SKUs stocked at two locations, then `sales` one-unit sales spread
    over them, each its own command, through the group-commit writer."""
    runtime = bootstrap(
        Settings(event_store_url=store_url, chain_interval_seconds=0, master_key=TEST_MASTER_KEY)
    )
    w = runtime.writer
    w.start()
    try:
        for n, code in enumerate(WHERE):
            w.execute(c.RegisterLocation(code, code, "store", 48.0 + n, 2.0 + n, trace()))
        skus = [f"SKU-{i:04d}" for i in range(pool)]
        variants = tuple(c.VariantSpec(s, {}, Decimal("9.90"), "EUR") for s in skus)
        w.execute(c.DefineProduct("SERUM", {"name": "Serum"}, variants, trace()))
        for sku in skus:
            for where in WHERE:
                w.execute(c.ReceiveBatch(sku, where, "B1", date(2031, 1, 1), 10**7, None, trace()))
        sell(store_url, sales, pool, runtime=runtime)
    finally:
        runtime.close()


def sell(store_url: str, sales: int, pool: int = 50, runtime: Any = None) -> None:
    owned = runtime is None
    if owned:
        runtime = bootstrap(
            Settings(
                event_store_url=store_url, chain_interval_seconds=0, master_key=TEST_MASTER_KEY
            )
        )
        runtime.writer.start()
    try:
        pending = []
        for n in range(sales):
            line = (c.StockLine(f"SKU-{n % pool:04d}", WHERE[n % 2], 1 + n % 3),)
            pending.append(runtime.writer.submit(c.SellDirect(uuid.uuid4(), line, trace())))
            if len(pending) >= 2000:
                for future in pending:
                    future.result()
                pending.clear()
        for future in pending:
            future.result()
    finally:
        if owned:
            runtime.close()


def environment(settings: Settings) -> dict[str, str]:
    """The settings as GLOW_* variables, and nothing of this process's own GLOW_* ones."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GLOW_")}
    env.update(replace(settings, master_key=settings.master_key or TEST_MASTER_KEY).as_env())
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start(settings: Settings, *args: str, log: Path) -> subprocess.Popen[bytes]:
    return launch([GLOW, *args], environment(settings), log)


@contextmanager
def running(settings: Settings, *args: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    process = start(settings, *args, log=log)
    try:
        yield process
    finally:
        stop(process)


def glow(settings: Settings, *args: str) -> str:
    done = subprocess.run(
        [GLOW, *args], env=environment(settings), capture_output=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise AssertionError(f"glow {' '.join(args)}: {done.stderr.decode()}{done.stdout.decode()}")
    return done.stdout.decode()


DUMP = """
import sys, orjson
from projections.clickhouse_facts import open_facts
from projections.facts import TABLES
facts = open_facts(sys.argv[1])
rows = {t: [repr(r) for r in facts.table_rows(t)] for t in TABLES}
rows["_position"] = facts.position("projector")
rows["_sold_units"] = facts.rows("SELECT sum(quantity) AS n FROM sales_lines FINAL")[0]["n"]
sys.stdout.buffer.write(orjson.dumps(rows))
"""


def dump_facts(analytics_url: str) -> dict[str, Any]:
    """Every fact row (as FINAL reads it) and the position, read in a process of its own."""
    done = subprocess.run(
        [sys.executable, "-c", DUMP, analytics_url], capture_output=True, timeout=120, check=True
    )
    dumped: dict[str, Any] = orjson.loads(done.stdout)
    return dumped


def wait_for(check: Any, timeout: float, what: str, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)
