"""Orders placed per second over HTTP on PostgreSQL, sourced on the server over 50 locations
(2-3 lines per order), against bench_commands.py's reserve+confirm on the same server and
database in the same run; and the sourcing decision alone, on the same aggregates.

    .venv/bin/python scripts/bench_orders.py --quick         # under 60 s
    .venv/bin/python scripts/bench_orders.py --clients 8 --duration 20

GLOW_BENCH_DB names the scratch database (default glow_bench_orders). The last line is one
JSON object: orders_per_s, p50_ms, p99_ms, sourcing_us_p99, ratio_vs_reserve (orders/s over
reserve+confirm commands/s: one command each), ratio_vs_sales (over reserve+confirm pairs/s:
one sale each), and the server's CPU per order and per reserve/confirm command beside them.
Orders and reserve+confirm run in alternating bursts on the same server, so a slower moment of
the machine slows both. Targets: p99 < 50 ms at 8 clients, sourcing p99 < 2 ms, ratio >= 0.5.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_commands import (  # noqa: E402
    GLOW,
    HEADERS,
    MASTER_KEY,
    Act,
    drive,
    reserve_and_confirm,
    served,
    trace,
    warm,
)
from bench_services import (  # noqa: E402
    cpu_seconds,
    ensure_postgres,
    fresh_database,
    with_descendants,
)
from bench_sourcing import percentile  # noqa: E402
from configuration.settings import Settings  # noqa: E402
from domain import commands as c  # noqa: E402
from domain import order_commands as o  # noqa: E402
from domain.channel_rules import CHANNELS  # noqa: E402
from domain.ids import stock_id  # noqa: E402
from domain.kits import lines_to_source  # noqa: E402
from domain.order_sourcing import channel_policy, every_place, plan  # noqa: E402
from domain.sourcing import ShipTo, SourcingDecision, sellable_batches, source  # noqa: E402
from domain.stock import Stock  # noqa: E402
from http_load import Connection, run_client  # noqa: E402
from service_layer.bootstrap import bootstrap  # noqa: E402
from service_layer.order_queries import LedgerViewer  # noqa: E402

LOCATIONS = 50
UNITS = 1_000_000  # per SKU and location: orders never run out


def places(rng: random.Random) -> list[tuple[str, str, float, float]]:
    """`WH` (where reserve+confirm takes its stock) and 49 more: warehouses, fulfilment
    centres and stores across France."""
    kinds = ["warehouse"] * 5 + ["fulfilment_centre"] * 5 + ["store"] * (LOCATIONS - 10)
    codes = ["WH", *(f"LOC-{n:02}" for n in range(1, LOCATIONS))]
    return [
        (code, kind, rng.uniform(43.0, 50.5), rng.uniform(-1.5, 7.5))
        for code, kind in zip(codes, kinds, strict=True)
    ]


def seed(url: str, skus: list[str], rng: random.Random) -> None:
    """Catalog, 50 locations holding every SKU (two batches each), and every channel's rules
    opened, written through the real writer."""
    runtime = bootstrap(Settings(event_store_url=url, master_key=MASTER_KEY))
    runtime.writer.start()
    try:
        w = runtime.writer
        chain = places(rng)
        for code, kind, lat, lon in chain:
            w.execute(c.RegisterLocation(code, code, kind, lat, lon, trace()))
        variants = tuple(c.VariantSpec(s, {}, Decimal("9.90"), "EUR") for s in skus)
        details = {"name": "Bench serum", "brand": "Bench", "category": "serum"}
        w.execute(c.DefineProduct("BENCH", details, variants, trace()))
        pending = []
        for sku in skus:
            for code, *_ in chain:
                for batch, expiry in (("B1", date(2030, 1, 1)), ("B2", date(2031, 1, 1))):
                    receipt = c.ReceiveBatch(sku, code, batch, expiry, UNITS, None, trace())
                    pending.append(w.submit(receipt, uuid.uuid4().hex, "bench"))
        for channel in CHANNELS:  # rules read per order: found in the writer's cache
            pending.append(w.submit(o.ChangeChannelRules(channel, trace()), None, "bench"))
        for future in pending:
            future.result()
    finally:
        runtime.close()


Order = tuple[list[tuple[str, int]], ShipTo]  # (SKU, quantity) lines, where it goes


def random_order(rng: random.Random, skus: list[str], first: str) -> Order:
    chosen = [first, *rng.sample([s for s in skus if s != first], rng.choice((1, 2)))]
    lines = [(sku, rng.randint(1, 3)) for sku in chosen]
    return lines, ShipTo(rng.uniform(43.0, 50.5), rng.uniform(-1.5, 7.5))


def place_order(rng: random.Random, skus: list[str]) -> Act:
    async def act(conn: Connection, sku: str) -> tuple[int, int]:
        lines, delivery = random_order(rng, skus, sku)
        body = {
            "lines": [{"sku": s, "quantity": n} for s, n in lines],
            "delivery": delivery.as_dict(),
            "source_ref": "bench",
        }
        headers = {**HEADERS, "idempotency-key": uuid.uuid4().hex}
        reply = await conn.request("POST", "/orders", body, headers)
        return reply.status, 200  # one command: no second step

    return act


def sourcing_alone(url: str, skus: list[str], rng: random.Random, count: int) -> list[float]:
    """Microseconds of `source(...)` alone, on the aggregates the server decided on."""
    runtime = bootstrap(Settings(event_store_url=url, master_key=MASTER_KEY))
    try:
        viewer = LedgerViewer(runtime.ledger)
        today = datetime.now(tz=UTC).date()
        chain = every_place(viewer)
        policy = channel_policy(viewer, "web", chain)
        candidates = {}
        for sku in skus:
            for code in chain:
                stock = viewer.view(stock_id(sku, code))
                assert isinstance(stock, Stock)
                candidates[sku, code] = sellable_batches(stock, today)
        timings = []
        for n in range(count + 200):
            lines, delivery = random_order(rng, skus, rng.choice(skus))
            numbered = [(f"L{i}", sku, units) for i, (sku, units) in enumerate(lines, 1)]
            to_source = lines_to_source(numbered, {})
            started = time.perf_counter_ns()
            decided = source(to_source, delivery, policy, candidates, chain, today)
            if n >= 200:  # the first ones warm up
                timings.append((time.perf_counter_ns() - started) / 1000)
            assert isinstance(decided, SourcingDecision)
        # the same decision as the server's gathering of it would take
        assert plan(viewer, numbered, delivery, "web", today) == decided
        return timings
    finally:
        runtime.close()


BURSTS = 4  # per side: orders and reserve+confirm alternate, so a slower moment hits both


@dataclass
class Side:
    """One side's bursts added up: commands, seconds, server CPU, every latency."""

    commands: int = 0
    seconds: float = 0.0
    cpu: float = 0.0
    failures: int = 0
    latencies: list[float] = field(default_factory=list)

    @property
    def per_s(self) -> float:
        return self.commands / self.seconds

    @property
    def cpu_us_per_command(self) -> float:
        return self.cpu / self.commands * 1e6

    def percentile_ms(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000  # latencies are in seconds


def alternating(
    port: int, clients: int, duration: float, skus: list[str], act: Act, served_by: list[int]
) -> tuple[Side, Side]:
    """Orders and reserve+confirm in alternating bursts of duration / BURSTS seconds each."""
    orders, reserve = Side(), Side()
    for _ in range(BURSTS):
        for side, acting in ((orders, act), (reserve, reserve_and_confirm)):
            before = cpu_seconds(served_by)
            burst = drive(port, clients, duration / BURSTS, skus, acting, keep=side.latencies)
            found = run_client(burst)
            side.cpu += cpu_seconds(served_by) - before
            side.commands += int(found["commands"])
            side.seconds += found["commands"] / found["commands_per_s"]
            side.failures += int(found["failures"])
    return orders, reserve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="finish in under 60 s")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--skus", type=int, default=20)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("GLOW_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432"),
    )
    args = parser.parse_args()
    duration = 8.0 if args.quick else args.duration
    rng = random.Random(15)
    ensure_postgres(args.postgres)
    url = fresh_database(args.postgres, os.environ.get("GLOW_BENCH_DB", "glow_bench_orders"))
    subprocess.run([GLOW, "--store", url, "migrate"], check=True, capture_output=True)
    skus = [f"SKU-{i:04d}" for i in range(args.skus)]
    t0 = time.perf_counter()
    seed(url, skus, rng)
    print(f"seeded {len(skus)} SKUs at {LOCATIONS} locations in {time.perf_counter() - t0:.1f} s")

    with served(url) as (port, server):
        run_client(warm(port, args.clients, skus))
        act = place_order(rng, skus)
        run_client(drive(port, args.clients, 1.5, skus, act))  # every stock into the cache
        served_by = with_descendants(server.pid)
        orders, reserve = alternating(port, args.clients, duration, skus, act, served_by)
    timings = sourcing_alone(url, skus, rng, 1_000 if args.quick else 5_000)
    figures = {
        "clients": args.clients,
        "locations": LOCATIONS,
        "lines_per_order": "2-3",
        "orders_per_s": round(orders.per_s, 1),
        "p50_ms": round(orders.percentile_ms(0.5), 2),
        "p99_ms": round(orders.percentile_ms(0.99), 2),
        "failures": orders.failures,
        "sourcing_us_p50": round(percentile(timings, 0.5), 1),
        "sourcing_us_p99": round(percentile(timings, 0.99), 1),
        "server_cpu_us_per_order": round(orders.cpu_us_per_command),
        "reserve_confirm_commands_per_s": round(reserve.per_s, 1),
        "reserve_confirm_p99_ms": round(reserve.percentile_ms(0.99), 2),
        "server_cpu_us_per_reserve_confirm_command": round(reserve.cpu_us_per_command),
        "ratio_vs_reserve": round(orders.per_s / reserve.per_s, 3),
        # a reserve+confirm pair is one sale, as an order is one
        "ratio_vs_sales": round(2 * orders.per_s / reserve.per_s, 3),
        "cpu_ratio_vs_reserve": round(reserve.cpu_us_per_command / orders.cpu_us_per_command, 3),
    }
    print(
        f"orders over HTTP, {args.clients} clients, {duration:.0f} s in {BURSTS} bursts "
        f"alternating with reserve+confirm, {LOCATIONS} locations: {figures['orders_per_s']} "
        f"orders/s, p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms (target < 50), "
        f"{figures['failures']} failures; server CPU {figures['server_cpu_us_per_order']} us/order"
    )
    print(
        f"sourcing alone: p50 {figures['sourcing_us_p50']} us, p99 {figures['sourcing_us_p99']} "
        "us (target < 2000)"
    )
    print(
        f"reserve+confirm on the same server: {figures['reserve_confirm_commands_per_s']} "
        f"commands/s, server CPU {figures['server_cpu_us_per_reserve_confirm_command']} "
        f"us/command; ratio {figures['ratio_vs_reserve']} (target >= 0.5), by CPU "
        f"{figures['cpu_ratio_vs_reserve']}; per sale (a reserve+confirm pair) "
        f"{figures['ratio_vs_sales']}"
    )
    print(orjson.dumps(figures).decode())


if __name__ == "__main__":
    main()
