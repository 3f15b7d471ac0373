"""`glow tills report TILL JOURNAL`: what a till journal's lines came to, what conflicted with
the web shop's holds and what reconciling did (the same answer as
`GET /tills/{till}/journals/{journal_id}/report`)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from cli.audit_commands import print_json
from configuration.settings import Settings
from domain.errors import NotFoundError
from service_layer.bootstrap import open_ledger
from service_layer.till_queries import journal_report


def add_parsers(commands: Any) -> None:
    tills = commands.add_parser("tills", help="till journals: reconciliation reports")
    actions = tills.add_subparsers(dest="action", required=True)
    report = actions.add_parser("report", help="a journal's conflicts and what was done")
    report.add_argument("till")
    report.add_argument("journal_id", help="the Journal-Id of the upload (its header line)")
    report.set_defaults(run=_report)


def _report(settings: Settings, args: argparse.Namespace) -> int:
    ledger = open_ledger(settings)
    try:
        print_json(journal_report(ledger, args.till, args.journal_id))
    except NotFoundError as error:
        print(f"glow: {error}", file=sys.stderr)
        return 1
    finally:
        ledger.close()
    return 0
