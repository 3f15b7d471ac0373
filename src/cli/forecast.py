"""`glow forecast run`: forecast every SKU x location's daily demand from the analytics
database's history (GLOW_ANALYTICS_URL: a ClickHouse server, or a chDB path no other process
holds), each series' model chosen by backtest, and store the run for replenishment and
`GET /forecasts/{sku}`."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from contextlib import ExitStack
from datetime import date
from typing import Any

from configuration.settings import MAX_FORECAST_HORIZON_DAYS, Settings, SettingsError


def add_parsers(commands: Any) -> None:
    forecast = commands.add_parser("forecast", help="demand forecasts per SKU x location")
    actions = forecast.add_subparsers(dest="action", required=True)
    run = actions.add_parser(
        "run", help="forecast every series from the demand history and store the run"
    )
    run.add_argument(
        "--horizon",
        type=int,
        default=None,
        metavar="DAYS",
        help="days to forecast (default GLOW_FORECAST_HORIZON_DAYS, 28)",
    )
    run.add_argument(
        "--to",
        default=None,
        metavar="DAY",
        help="last day of history (default: the last with facts)",
    )
    censoring = run.add_mutually_exclusive_group()
    censoring.add_argument(
        "--censored",
        dest="censored",
        action="store_true",
        default=None,
        help="learn from sales + unmet demand, stock-out days imputed "
        "(default: GLOW_FORECAST_CENSORED)",
    )
    censoring.add_argument(
        "--sales-only", dest="censored", action="store_false", help="learn from sales alone"
    )
    run.add_argument(
        "--workers", type=int, default=None, help="processes forecasting (default: one a core)"
    )
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(run=_run)


def _run(settings: Settings, args: argparse.Namespace) -> int:
    from cli.progress import progress_bar
    from projections.forecast_store import ForecastStore
    from service_layer.bootstrap import open_ledger
    from service_layer.demand_forecasting import NoDemandHistoryError, forecast_demand
    from service_layer.read_side import open_analytics

    horizon = args.horizon if args.horizon is not None else settings.forecast_horizon_days
    if not 1 <= horizon <= MAX_FORECAST_HORIZON_DAYS:
        print(
            f"glow: --horizon {horizon} is out of range; "
            f"expected 1 to {MAX_FORECAST_HORIZON_DAYS} days",
            file=sys.stderr,
        )
        return 2
    if args.workers is not None and not 1 <= args.workers <= 64:
        print(f"glow: --workers {args.workers} is out of range; expected 1 to 64", file=sys.stderr)
        return 2
    try:
        to_day = date.fromisoformat(args.to) if args.to else None
    except ValueError:
        print(f"glow: --to {args.to!r} is not an ISO day (YYYY-MM-DD)", file=sys.stderr)
        return 2
    censored = settings.forecast_censored if args.censored is None else args.censored
    if not settings.analytics_url:
        raise SettingsError("GLOW_ANALYTICS_URL is empty: the demand history lives in ClickHouse")
    ledger = open_ledger(settings, connections=2)
    facts = open_analytics(settings.analytics_url)
    try:
        store = ForecastStore(facts.client)
        with ExitStack() as bars:

            def started(total: int) -> Callable[[int], None]:
                if args.quiet:
                    return lambda done: None
                return bars.enter_context(progress_bar("forecasting series", total))

            outcome = forecast_demand(
                ledger, facts.client, store, horizon, censored, to_day, args.workers, started
            )
    except NoDemandHistoryError as error:
        print(f"glow: {error}", file=sys.stderr)
        return 1
    finally:
        facts.close()
        ledger.close()
    run = outcome.run
    print(
        f"glow: forecast run {run.run_id}: {run.series} series, history to {run.history_to}, "
        f"{run.horizon} days ahead, {'censored demand' if run.censored else 'sales only'}, "
        f"{run.seconds:.1f} s"
    )
    chosen = ", ".join(f"{name} {count}" for name, count in outcome.models.items())
    print(f"glow: models chosen: {chosen or 'none'}")
    print(
        f"glow: promotion lift {outcome.promotion_lift:.2f}x (learnt from past promotions; "
        "applied on the days a scheduled promotion runs)"
    )
    if not math.isnan(outcome.mean_mase):
        print(
            f"glow: backtest mean MASE {outcome.mean_mase:.3f} "
            f"(seasonal naive {outcome.mean_mase_naive:.3f})"
        )
    return 0
