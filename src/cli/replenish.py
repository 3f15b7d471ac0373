"""`glow replenish [--location L] [--on DAY]`: plan replenishment from the latest forecasts
(`glow forecast run`, in GLOW_ANALYTICS_URL) and the ledger, record each location's
suggestions and alerts as events (superseding the open suggestions there), and print a table
of what it suggested. `glow replenish --show [--location L]` prints the open suggestions.
`--json` prints the same as JSON."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from cli.audit_commands import print_json
from cli.progress import progress_bar
from configuration.settings import Settings, SettingsError
from domain.errors import DomainError
from domain.replenishment import suggestion_id
from service_layer.bootstrap import open_ledger
from service_layer.replenishment_desk import ReplenishmentDesk, defaults_from


def add_parsers(commands: Any) -> None:
    replenish = commands.add_parser(
        "replenish", help="suggest purchases and transfers from the forecasts (events)"
    )
    replenish.add_argument("--location", help="plan (or show) for this location only")
    replenish.add_argument(
        "--on",
        type=date.fromisoformat,
        help="the day to plan from (YYYY-MM-DD; default today, UTC)",
    )
    replenish.add_argument(
        "--show", action="store_true", help="print the open suggestions; plan nothing"
    )
    replenish.add_argument("--json", action="store_true", help="print JSON, not a table")
    replenish.set_defaults(run=_run)


def _run(settings: Settings, args: argparse.Namespace) -> int:
    if args.show:
        return _show(settings, args)
    if not settings.analytics_url:
        raise SettingsError(
            "GLOW_ANALYTICS_URL is empty: replenishment reads the forecasts `glow forecast run` "
            "stored in ClickHouse"
        )
    from projections.forecast_store import ForecastStore
    from service_layer.read_side import open_analytics
    from service_layer.writer_thread import InProcessWriter

    facts = open_analytics(settings.analytics_url)
    ledger = open_ledger(settings)
    writer = InProcessWriter(ledger, max_group=settings.max_group)
    writer.start()
    try:
        forecasts = ForecastStore(facts.client)
        desk = ReplenishmentDesk(ledger, defaults_from(settings), forecasts)
        today = args.on or datetime.now(tz=UTC).date()
        series = len(forecasts.latest_all())
        if series == 0:
            print(
                "glow: no forecasts in GLOW_ANALYTICS_URL (run `glow forecast run` first): "
                "nothing planned, the open suggestions left as they are",
                file=sys.stderr,
            )
            return 1
        with progress_bar("planning", series) as advance:
            run = desk.plan(today, args.location, advance)
        with progress_bar("recording", len(run.locations)) as advance:
            desk.record(run, writer, advance=advance)
    except DomainError as error:
        print(f"glow: {error}", file=sys.stderr)
        return 1
    finally:
        writer.stop()
        ledger.close()
        facts.close()
    made = [
        {
            "suggestion_id": str(
                suggestion_id(
                    run.run_id, draft.kind, draft.sku, draft.location, draft.from_location
                )
            ),
            **draft.__dict__,
            "reasons": list(draft.reasons),
        }
        for draft in run.plan.suggestions
        if draft.location in run.locations
    ]
    alerts = [a for a in run.plan.alerts if a["location"] in run.locations]
    if args.json:
        print_json({"run_id": run.run_id, "today": today, "suggestions": made, "alerts": alerts})
        return 0
    _table(f"run {run.run_id}: {len(made)} suggestion(s)", made)
    for alert in alerts:
        print(f"{alert['kind']}: {alert['reason']}")
    return 0


def _show(settings: Settings, args: argparse.Namespace) -> int:
    ledger = open_ledger(settings, connections=2)
    try:
        desk = ReplenishmentDesk(ledger, defaults_from(settings))
        found = desk.open_suggestions(args.location)
    except DomainError as error:
        print(f"glow: {error}", file=sys.stderr)
        return 1
    finally:
        ledger.close()
    if args.json:
        print_json(found)
    else:
        _table(f"{len(found)} open suggestion(s)", found)
    return 0


def _table(title: str, rows: list[dict[str, Any]]) -> None:
    table = Table(title=title)
    for column in ("kind", "sku", "to", "from", "units", "arrive by", "why"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row["kind"],
            row["sku"],
            row["location"],
            row["from_location"] or "",
            str(row["quantity"]),
            str(row["arrive_by"]),
            "; ".join(row["reasons"]),
        )
    Console().print(table)
