"""Webhook deliveries to a local receiver on PostgreSQL: deliveries per second for a backlog
(derived from the log and delivered, signed), and the latency from commit to receipt while
orders keep coming.

    GLOW_BENCH_DB=glow_bench_wh .venv/bin/python scripts/bench_webhooks.py --quick

The receiver is uvicorn in a thread answering 200 to every POST. Phase one places `--orders`
orders with the webhook service stopped (two `order.status_changed` each: placed, sourced),
then starts it and times until every delivery has arrived. Phase two keeps the service running
and places orders at `--rate` per second; each delivery's latency is its receipt time less the
`recorded_at` of the event it reports. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import uvicorn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(1, str(ROOT / "scripts"))

from bench_services import free_port, fresh_database, wait_for_http  # noqa: E402
from configuration.settings import Settings  # noqa: E402
from domain import commands as c  # noqa: E402
from domain import order_commands as o  # noqa: E402
from domain.sourcing import ShipTo  # noqa: E402
from domain.trace import Trace  # noqa: E402
from privacy.master_keys import MasterKeys  # noqa: E402
from service_layer.bootstrap import LedgerRuntime, bootstrap  # noqa: E402
from service_layer.webhook_service import WebhookService  # noqa: E402
from storage.migrations import apply_migrations  # noqa: E402

SKU, STORE = "BENCH-WH", "WH-BENCH"


class Receiver:
    """An ASGI app, in a process of its own (a subscriber is another machine): answers 200 to
    every POST, counts it, and writes its receipt time and the `recorded_at` it reports."""

    def __init__(self, count: Any, path: str) -> None:
        self.count = count
        self.out = Path(path).open("a", buffering=1)  # noqa: SIM115 (open for the process's life)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        at = time.time()
        if scope["method"] != "POST":  # the bench asking whether it is up
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        self.out.write(f"{at} {orjson.loads(body)['data']['recorded_at']}\n")
        with self.count.get_lock():
            self.count.value += 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def serve_receiver(port: int, count: Any, path: str) -> None:
    config = uvicorn.Config(Receiver(count, path), port=port, lifespan="off", log_level="warning")
    uvicorn.Server(config).run()


class Receipts:
    """The receiver process, seen from the bench: how many arrived, and their latencies."""

    def __init__(self, port: int, folder: Path) -> None:
        context = multiprocessing.get_context("spawn")
        self.count = context.Value("i", 0)
        self.path = str(folder / "receipts.txt")
        self.process = context.Process(
            target=serve_receiver, args=(port, self.count, self.path), daemon=True
        )
        self.process.start()

    def __len__(self) -> int:
        return int(self.count.value)

    def latencies(self, skip: int) -> list[float]:
        lines = Path(self.path).read_text().splitlines()[skip:]
        return [
            float(at) - datetime.fromisoformat(recorded).timestamp()
            for at, recorded in (line.split(" ") for line in lines)
        ]

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(5)


def trace() -> Trace:
    return Trace("web", "bench", datetime.now(tz=UTC))


def seed(runtime: LedgerRuntime) -> None:
    w = runtime.writer
    w.execute(c.RegisterLocation(STORE, STORE, "warehouse", 48.8, 2.3, trace()))
    variant = c.VariantSpec(SKU, {}, Decimal("9.90"), "EUR")
    details = {"name": "Bench", "brand": "Bench", "category": "serum"}
    w.execute(c.DefineProduct("BENCH-WH", details, (variant,), trace()))
    w.execute(c.ReceiveBatch(SKU, STORE, "B1", date(2031, 1, 1), 10_000_000, None, trace()))


def place(runtime: LedgerRuntime, count: int, rate: float | None = None) -> None:
    pending = []
    started = time.monotonic()
    for n in range(count):
        if rate is not None:
            time.sleep(max(0.0, started + n / rate - time.monotonic()))
        command = o.PlaceOrder(uuid.uuid4(), (o.OrderedItem(SKU, 1),), ShipTo(48.85, 2.35), trace())
        pending.append(runtime.writer.submit(command, uuid.uuid4().hex, "bench"))
    for future in pending:
        future.result()


def wait_for(receiver: Receipts, count: int, seconds: float) -> float:
    deadline = time.monotonic() + seconds
    while len(receiver) < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {len(receiver)} of {count} deliveries arrived")
        time.sleep(0.01)
    return time.time()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: under a minute")
    parser.add_argument("--orders", type=int, default=None, help="orders of the backlog")
    parser.add_argument("--rate", type=float, default=100.0, help="orders/s in phase two")
    parser.add_argument("--seconds", type=float, default=None, help="length of phase two")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("GLOW_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432"),
    )
    args = parser.parse_args()
    orders = args.orders or (3000 if args.quick else 20_000)
    seconds = args.seconds or (3.0 if args.quick else 10.0)
    dbname = os.environ.get("GLOW_BENCH_DB", "glow_bench_wh")
    print(orjson.dumps(webhook_figures(args.postgres, dbname, orders, args.rate, seconds)).decode())


def webhook_figures(
    postgres: str, dbname: str, orders: int, rate: float, seconds: float
) -> dict[str, Any]:
    """Both phases on a fresh database `dbname` (scripts/bench_tills.py runs them too)."""
    url = fresh_database(postgres, dbname)
    apply_migrations(url)
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    receiver = Receipts(port, folder)
    runtime = None
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", 30)
        settings = Settings(  # the receiver listens on 127.0.0.1
            event_store_url=url, master_key=MasterKeys.generate(), webhook_private_hosts=True
        )
        runtime = bootstrap(settings)
        runtime.writer.start()
        return measure(runtime, settings, receiver, port, orders, rate, seconds)
    finally:
        if runtime is not None:
            runtime.close()
        receiver.stop()
        shutil.rmtree(folder, ignore_errors=True)


def measure(
    runtime: LedgerRuntime,
    settings: Settings,
    receiver: Receipts,
    port: int,
    orders: int,
    rate: float,
    seconds: float,
) -> dict[str, Any]:
    seed(runtime)
    assert runtime.webhook_desk is not None
    runtime.webhook_desk.subscribe(f"http://127.0.0.1:{port}/hooks", ["order.status_changed"], None)
    place(runtime, orders)
    service = WebhookService(
        replace(settings, webhooks=True), runtime.ledger, runtime.customers.ledger.vault.masters
    )
    began = time.time()
    service.start()
    try:
        ended = wait_for(receiver, 2 * orders, 120)
        backlog = len(receiver)
        place(runtime, int(rate * seconds), rate)
        wait_for(receiver, backlog + 2 * int(rate * seconds), 60)
    finally:
        service.stop()
    latencies = receiver.latencies(backlog)
    return {
        "webhooks_per_s": round(backlog / (ended - began), 1),
        "backlog_deliveries": backlog,
        "backlog_seconds": round(ended - began, 2),
        "webhook_latency_p50_ms": round(percentile(latencies, 0.5) * 1000, 1),
        "webhook_latency_p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "webhook_latency_mean_ms": round(statistics.fmean(latencies) * 1000, 1),
        "latency_deliveries": len(latencies),
        "orders_per_s_while_delivering": rate,
    }


if __name__ == "__main__":
    main()
