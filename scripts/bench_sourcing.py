"""How long one sourcing decision takes: 50 locations, orders of 2-3 lines (some of them kits).

    .venv/bin/python scripts/bench_sourcing.py --quick     # a few seconds
    .venv/bin/python scripts/bench_sourcing.py --orders 50000

Builds a chain of 50 locations (warehouses, fulfilment centres and stores across France), a
catalog of SKUs stocked in Stock aggregates (1-3 batches each, some short-dated, some held by
carts), and channels with each strategy (nearest, priority, fewest shipments; split or not; a
buffer and a minimum shelf life). Then times, per order:
- `sourcing_us`: the decision alone (`domain.sourcing.source`), the issue's target p99 < 2 ms;
- `with_stock_view_us`: the decision plus reading the candidates' sellable batches from the
  Stock aggregates (`sellable_batches`), as a handler would.
No database: sourcing is a pure function. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from domain.sourcing import (  # noqa: E402
    STRATEGIES,
    LineToSource,
    PickUpAt,
    Place,
    SellableBatch,
    ShipTo,
    SourcingDecision,
    SourcingPolicy,
    sellable_batches,
    source,
)
from domain.stock import Stock  # noqa: E402
from domain.trace import Trace  # noqa: E402

LOCATIONS = 50
TODAY = date(2025, 3, 1)
TRACE = Trace("backoffice", "bench", datetime(2025, 3, 1, 9, tzinfo=UTC))


def chain(rng: random.Random) -> dict[str, Place]:
    kinds = ["warehouse"] * 5 + ["fulfilment_centre"] * 5 + ["store"] * (LOCATIONS - 10)
    return {
        f"LOC-{n:02}": Place(f"LOC-{n:02}", kind, rng.uniform(43.0, 50.5), rng.uniform(-1.5, 7.5))
        for n, kind in enumerate(kinds)
    }


def shelves(
    rng: random.Random, places: dict[str, Place], skus: int
) -> dict[tuple[str, str], Stock]:
    """Stock aggregates: every SKU at most locations, 1-3 batches, some units held."""
    stocks = {}
    for s in range(skus):
        sku = f"SKU-{s:03}"
        for code in places:
            if rng.random() < 0.15:
                continue  # not stocked here
            stock = Stock.open(sku, code)
            for b in range(rng.randint(1, 3)):
                expiry = TODAY + timedelta(days=rng.choice([20, 45, 120, 240, 400]))
                stock.receive(f"B{b}", expiry, rng.randint(1, 12), None, TRACE)
            if rng.random() < 0.3:
                stock.reserve(_uuid(rng), 1, TRACE)
            stock.collect_events()
            stocks[sku, code] = stock
    return stocks


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128))


def policies(places: dict[str, Place]) -> list[SourcingPolicy]:
    codes = sorted(places)
    found = []
    for strategy in STRATEGIES:
        for split in (True, False):
            found.append(
                SourcingPolicy(
                    "web",
                    strategy=strategy,
                    priority=tuple(codes[:10]),
                    ship_from_store=split,
                    split_allowed=split,
                    min_shelf_life_days=30 if split else 90,
                    safety_buffer={f"SKU-{s:03}": 1 for s in range(0, 40, 3)},
                )
            )
    return found


def orders(rng: random.Random, count: int, skus: int, places: dict[str, Place]) -> list[Any]:
    stores = [code for code, p in places.items() if p.kind == "store"]
    made = []
    for _ in range(count):
        chosen = rng.sample(range(skus), rng.randint(2, 3))
        lines = []
        for n, s in enumerate(chosen, 1):
            if rng.random() < 0.15:  # a gift set of two components
                other = (s + 1) % skus
                parts = ((f"SKU-{s:03}", 1), (f"SKU-{other:03}", 2))
                lines.append(LineToSource(f"L{n}", f"KIT-{s:03}", 1, parts))
            else:
                lines.append(LineToSource(f"L{n}", f"SKU-{s:03}", rng.randint(1, 4)))
        delivery = (
            PickUpAt(rng.choice(stores))
            if rng.random() < 0.2
            else ShipTo(rng.uniform(43.0, 50.5), rng.uniform(-1.5, 7.5))
        )
        made.append((lines, delivery))
    return made


def candidates_for(
    lines: list[LineToSource], stocks: dict[tuple[str, str], Stock], codes: list[str]
) -> dict[tuple[str, str], tuple[SellableBatch, ...]]:
    skus = {sku for line in lines for sku, _ in line.parts()}
    return {
        (sku, code): sellable_batches(stocks[sku, code], TODAY)
        for sku in skus
        for code in codes
        if (sku, code) in stocks
    }


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="finish in a few seconds")
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--skus", type=int, default=40)
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    count = 3_000 if args.quick else args.orders
    rng = random.Random(args.seed)
    places = chain(rng)
    codes = sorted(places)
    stocks = shelves(rng, places, args.skus)
    rules = policies(places)
    made = orders(rng, count, args.skus, places)
    views = [candidates_for(lines, stocks, codes) for lines, _ in made]

    for n, (lines, delivery) in enumerate(made[:200]):  # warm up
        source(lines, delivery, rules[n % len(rules)], views[n], places, TODAY)
    decision_us, with_view_us, served = [], [], 0
    for n, (lines, delivery) in enumerate(made):
        policy = rules[n % len(rules)]
        start = time.perf_counter_ns()
        decision = source(lines, delivery, policy, views[n], places, TODAY)
        decision_us.append((time.perf_counter_ns() - start) / 1000)
        served += isinstance(decision, SourcingDecision)
        start = time.perf_counter_ns()
        source(lines, delivery, policy, candidates_for(lines, stocks, codes), places, TODAY)
        with_view_us.append((time.perf_counter_ns() - start) / 1000)

    result = {
        "orders": count,
        "locations": LOCATIONS,
        "lines_per_order": "2-3",
        "served_share": round(served / count, 3),
        "sourcing_us_p50": round(statistics.median(decision_us), 1),
        "sourcing_us_p99": round(percentile(decision_us, 0.99), 1),
        "sourcing_us_max": round(max(decision_us), 1),
        "with_stock_view_us_p50": round(statistics.median(with_view_us), 1),
        "with_stock_view_us_p99": round(percentile(with_view_us, 0.99), 1),
    }
    print(f"{count} orders over {LOCATIONS} locations, {len(rules)} channel policies")
    print(orjson.dumps(result).decode())


if __name__ == "__main__":
    main()
