"""The read side's `glow` subcommands: contracts, rebuild, relay, worker, lag."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from service_layer.settings import Settings

COMMANDS = ("contracts",)


def register(commands: Any) -> None:
    contracts = commands.add_parser(
        "contracts", help="check the published events' JSON Schemas against the committed ones"
    )
    contracts.add_argument(
        "--write", action="store_true", help="commit new or compatibly changed contracts"
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    return _contracts(write=args.write)


def _contracts(*, write: bool) -> int:
    from streams.contracts import (
        committed_contracts,
        current_contracts,
        incompatibilities,
        write_contracts,
    )

    problems = incompatibilities(committed_contracts(), current_contracts())
    for problem in problems:
        print(f"glow: incompatible: {problem}", file=sys.stderr)
    if problems:
        return 1
    if write:
        written = write_contracts()
        print(
            f"glow: wrote {len(written)} contract(s)"
            + (f": {', '.join(written)}" if written else "")
        )
        return 0
    committed = committed_contracts()
    stale = [name for name, schema in current_contracts().items() if committed.get(name) != schema]
    if stale:
        print(f"glow: compatible but not committed: {', '.join(stale)}; run glow contracts --write")
        return 1
    print("glow: every published event matches its committed contract")
    return 0
