"""`glow dead-letters list` and `glow dead-letters retry`: the events a consumer of the log set
aside (a sink could not take them), and asking for them to be applied again after a fix.

A retry is asked for in the store; the process that owns the sink (`glow serve` in the
embedded mode, `glow worker`, `glow relay`) applies it within a second or so and records the
outcome, which this command waits for. Only that process can write an in-process store or a
chDB path, so the command never writes a sink itself."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from configuration.settings import Settings
from service_layer.bootstrap import require_schema
from service_layer.read_side import open_dead_letters
from streams.dead_letters import DeadLetter, DeadLetters

# The customer log's sinks are the same names with `:customer` (their positions are its own).
SINKS = (
    "hot_views",
    "facts",
    "relay",
    "hot_views:customer",
    "facts:customer",
    "relay:customer",
)
OWNERS = "glow serve (embedded), glow worker or glow relay"


def add_parsers(commands: Any) -> None:
    letters = commands.add_parser(
        "dead-letters", help="events a read model or the relay set aside, and retrying them"
    )
    actions = letters.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="every event set aside, with its error")
    listing.add_argument("--sink", choices=SINKS, help="only this sink's")
    listing.set_defaults(run=_list)
    retry = actions.add_parser(
        "retry", help="ask the process that owns the sink to apply them again (after a fix)"
    )
    retry.add_argument("--sink", choices=SINKS, help="only this sink's (default: every sink)")
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("--position", type=int, help="the event at this log position")
    which.add_argument("--all", action="store_true", help="every letter (of --sink)")
    retry.add_argument(
        "--wait", type=float, default=30.0, help="seconds to wait for the outcome (default 30)"
    )
    retry.set_defaults(run=_retry)


def _open(settings: Settings) -> DeadLetters:
    require_schema(settings)
    return open_dead_letters(settings)


def _list(settings: Settings, args: argparse.Namespace) -> int:
    letters = _open(settings)
    try:
        found = letters.listed(args.sink)
    finally:
        letters.close()
    if not found:
        print("glow: no dead letters" + (f" for {args.sink}" if args.sink else ""))
        return 0
    print(f"{'sink':<10} {'position':>9} {'attempts':>8}  event (type): error")
    for letter in found:
        print(_line(letter))
    return 0


def _line(letter: DeadLetter) -> str:
    asked = " [retry asked]" if letter.retry_requested else ""
    return (
        f"{letter.sink:<10} {letter.position:>9} {letter.attempts:>8}  {letter.event_id} "
        f"({letter.event_type}): {letter.error}: {letter.message}{asked}"
    )


def _retry(settings: Settings, args: argparse.Namespace) -> int:
    letters = _open(settings)
    try:
        asked = letters.request_retry(args.sink, args.position)
        if not asked:
            print("glow: no dead letter matches", file=sys.stderr)
            return 1
        print(f"glow: asked for {len(asked)} retry(ies); waiting for {OWNERS}")
        outcome = _outcome(letters, asked, args.wait)
    finally:
        letters.close()
    return _report(asked, outcome)


def _outcome(
    letters: DeadLetters, asked: list[DeadLetter], wait: float
) -> dict[tuple[str, int], DeadLetter | None]:
    """Each asked letter as it is once answered (None: applied and removed), or still asked."""
    deadline = time.monotonic() + wait
    while True:
        now = {(v.sink, v.position): v for v in letters.listed()}
        outcome = {(a.sink, a.position): now.get((a.sink, a.position)) for a in asked}
        waiting = [v for v in outcome.values() if v is not None and v.retry_requested]
        if not waiting or time.monotonic() > deadline:
            return outcome
        time.sleep(0.2)


def _report(asked: list[DeadLetter], outcome: dict[tuple[str, int], DeadLetter | None]) -> int:
    status = 0
    for letter in asked:
        now = outcome[(letter.sink, letter.position)]
        if now is None:
            print(f"applied: {letter.sink} position {letter.position} ({letter.event_id})")
            continue
        status = 1
        if now.retry_requested:
            print(
                f"not answered yet: {letter.sink} position {letter.position}; is the process "
                f"that owns the sink running ({OWNERS})? The request stands."
            )
        else:
            print(f"failed again: {_line(now)}")
    return status
