"""`glow history`, `glow as-of` and `glow batch-trace`: auditors' questions on the command line."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import orjson

from audit.aggregate_keys import KINDS, aggregate_id
from audit.batch_trace import trace_batch
from audit.history import history
from audit.rendering import describe_state
from audit.time_travel import BASES, RECORDED, parse_instant, state_as_of, stock_as_of
from configuration.settings import Settings, SettingsError
from service_layer.bootstrap import open_ledger

KEY_HELP = "stock: SKU@LOCATION (or a SKU alone for as-of across locations); reservation: UUID"


def add_parsers(commands: Any) -> None:
    shown = commands.add_parser("history", help="an aggregate's events, who asked and why")
    shown.add_argument("kind", choices=sorted(KINDS))
    shown.add_argument("key", help=KEY_HELP)
    shown.set_defaults(run=_history)
    as_of = commands.add_parser("as-of", help="an aggregate's state as of an instant (replay)")
    as_of.add_argument("kind", choices=sorted(KINDS))
    as_of.add_argument("key", help=KEY_HELP)
    as_of.add_argument("--at", required=True, help="ISO 8601 instant with a timezone")
    as_of.add_argument("--basis", choices=BASES, default=RECORDED, help="recorded or occurred")
    as_of.set_defaults(run=_as_of)
    batch = commands.add_parser("batch-trace", help="everything a batch went through (recall)")
    batch.add_argument("sku")
    batch.add_argument("batch")
    batch.set_defaults(run=_batch_trace)


def print_json(value: Any) -> None:
    print(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode())


def _history(settings: Settings, args: argparse.Namespace) -> int:
    ledger = open_ledger(settings)
    try:
        print_json(history(ledger, aggregate_id(args.kind, args.key)))
    finally:
        ledger.close()
    return 0


def _as_of(settings: Settings, args: argparse.Namespace) -> int:
    instant = parse_instant(args.at)
    ledger = open_ledger(settings)
    try:
        if args.kind == "stock" and "@" not in args.key:
            print_json(stock_as_of(ledger, args.key, instant, args.basis))
            return 0
        found = state_as_of(ledger, aggregate_id(args.kind, args.key), instant, args.basis)
        answer = describe_state(found, instant.date())
        print_json({"as_of": instant.isoformat(), "basis": args.basis, **answer})
    finally:
        ledger.close()
    return 0


def _batch_trace(settings: Settings, args: argparse.Namespace) -> int:
    from service_layer.customer_desk import CustomerDesk
    from service_layer.customer_store import close_customer_ledger, open_customer_ledger

    ledger = open_ledger(settings)
    try:
        customers = open_customer_ledger(settings)
    except SettingsError as error:
        print(f"glow: customers listed by id only ({error})", file=sys.stderr)
        customers = None
    try:
        notice = CustomerDesk(customers).recall_notice if customers is not None else None
        print_json(trace_batch(ledger, args.sku, args.batch, notice))
    finally:
        if customers is not None:
            close_customer_ledger(customers)
        ledger.close()
    return 0
