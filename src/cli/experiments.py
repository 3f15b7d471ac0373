"""`glow experiments define|list|report|stop|publish|guard`: A/B experiments from a terminal, as
the API has them. `define` takes the JSON body `POST /experiments` takes and publishes the
candidates of its challenger model versions; `publish` publishes them again (after a training,
from cron: candidates follow the customers' consent and history as the serving model's do);
`guard [--every S]` stops every variant that breaches a guardrail, once or until SIGTERM.
`report` and `guard` open GLOW_ANALYTICS_URL (a ClickHouse server, or a chDB path no other
process holds)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

import orjson

from cli.repeating import repeat
from configuration.settings import Settings, SettingsError
from domain.errors import DomainError
from service_layer.bootstrap import require_schema

if TYPE_CHECKING:  # the desk (and ClickHouse's client) load only when a command runs
    from service_layer.experiment_desk import ExperimentDesk


def add_parsers(commands: Any) -> None:
    experiments = commands.add_parser("experiments", help="A/B experiments on recommendations")
    actions = experiments.add_subparsers(dest="action", required=True)
    define = actions.add_parser("define", help="define an experiment from a JSON file (or -)")
    define.add_argument("file", help="the body POST /experiments takes; - reads standard input")
    define.add_argument(
        "--no-publish", action="store_true", help="do not publish challengers' candidates now"
    )
    define.set_defaults(run=_define)
    listing = actions.add_parser("list", help="every experiment, as JSON")
    listing.set_defaults(run=_list)
    report = actions.add_parser("report", help="an experiment's figures per variant")
    report.add_argument("experiment_id")
    report.add_argument("--json", action="store_true", help="the whole report as JSON")
    report.set_defaults(run=_report)
    stop = actions.add_parser("stop", help="stop an experiment, or one of its variants")
    stop.add_argument("experiment_id")
    stop.add_argument("--reason", required=True, help="why (kept with the event)")
    stop.add_argument("--variant", help="stop this variant only (its customers get the control)")
    stop.set_defaults(run=_stop)
    publish = actions.add_parser(
        "publish", help="publish the candidates of an experiment's challenger model versions"
    )
    publish.add_argument("experiment_id")
    publish.set_defaults(run=_publish)
    guard = actions.add_parser(
        "guard", help="stop the running experiment's variants that breach a guardrail"
    )
    guard.add_argument(
        "--every",
        type=float,
        default=None,
        metavar="SECONDS",
        help="keep checking, this many seconds apart, until SIGTERM",
    )
    guard.set_defaults(run=_guard)


@contextmanager
def _desk(settings: Settings, analytics: bool = False) -> Iterator[ExperimentDesk]:
    from recommender.config import configured_model_dir
    from service_layer.experiment_desk import ExperimentDesk, open_experiment_ledger
    from service_layer.read_side import open_analytics

    require_schema(settings)
    facts = None
    if analytics:
        if not settings.analytics_url:
            raise SettingsError("GLOW_ANALYTICS_URL is empty: the exposures live in ClickHouse")
        facts = open_analytics(settings.analytics_url)
    ledger = open_experiment_ledger(settings)
    try:
        yield ExperimentDesk(
            ledger, configured_model_dir(), facts.client if facts is not None else None, 0.0
        )
    finally:
        ledger.close()
        if facts is not None:
            facts.close()


def _print(answer: Any) -> None:
    sys.stdout.write(orjson.dumps(answer, default=str, option=orjson.OPT_INDENT_2).decode() + "\n")


def _id(raw: str) -> UUID | None:
    try:
        return UUID(raw)
    except ValueError:
        print(f"glow: {raw!r} is not an experiment id (a UUID)", file=sys.stderr)
        return None


def _refused(error: Exception) -> int:
    message = error.message if isinstance(error, DomainError) else str(error.args[0])
    print(f"glow: refused: {message}", file=sys.stderr)
    return 1


def _define(settings: Settings, args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from api.experiment_models import ExperimentIn
    from api.experiment_routes import definition
    from service_layer.experiment_desk import describe

    raw = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()
    try:
        body = ExperimentIn.model_validate_json(raw)
    except ValidationError as error:
        for item in error.errors(include_url=False):
            field = ".".join(str(p) for p in item["loc"]) or "(body)"
            print(f"glow: {field}: {item['msg']}", file=sys.stderr)
        return 2
    now = datetime.now(UTC)
    with _desk(settings) as desk:
        try:
            made = desk.define(definition(body, now), "glow experiments define", now)
        except DomainError as error:
            return _refused(error)
        published = {} if args.no_publish else _publish_models(settings, desk, made.id)
        _print({**describe(made, now), "published": published})
    return 0


def _list(settings: Settings, args: argparse.Namespace) -> int:
    from service_layer.experiment_desk import describe

    with _desk(settings) as desk:
        _print({"experiments": [describe(e) for e in desk.experiments()]})
    return 0


def _report(settings: Settings, args: argparse.Namespace) -> int:
    from service_layer.experiment_desk import UnknownExperimentError

    experiment_id = _id(args.experiment_id)
    if experiment_id is None:
        return 2
    with _desk(settings, analytics=True) as desk:
        try:
            report = desk.report(experiment_id)
        except UnknownExperimentError as error:
            return _refused(error)
    if args.json:
        _print(report)
    else:
        print(table(report))
    return 0


def table(report: dict[str, Any]) -> str:
    """The report as a terminal table: one line per variant."""
    primary = report["primary_metric"]
    lines = [
        f"{report['name']} ({report['id']}), {report['status']}; primary metric {primary}; "
        f"attribution {report['attribution_days']} days",
        f"{'variant':<16}{'status':<9}{'exposed':>8}{'conv.':>7}  "
        f"{'conversion [95% CI]':<26}{'revenue/exposed [95% CI]':<30}{'CTR':>8}"
        f"{'returns':>9}  {'lift (' + primary + ') [95% CI]':<34}guardrails",
    ]
    for row in report["report"]["variants"]:
        lift = row.get("lift_vs_control", {}).get(primary)
        lift_text = "control"
        if lift is not None:
            d = lift["difference"]
            mark = " *" if lift["significant"] else ""
            lift_text = f"{_n(d['value'])} [{_n(d['low'])}, {_n(d['high'])}]{mark}"
        guard = ", ".join(f"{k} {v}" for k, v in row["guardrails"].items() if isinstance(v, str))
        lines.append(
            f"{row['variant']:<16}{row['status']:<9}{row['exposed']:>8}{row['conversions']:>7}  "
            f"{_ci(row['conversion']):<26}{_ci(row['revenue_per_exposed']):<30}"
            f"{_n(row['ctr']['value']):>8}{_n(row['returns_rate']['value']):>9}  "
            f"{lift_text:<34}{guard}"
        )
    lines.append(report["report"]["statistics"] + "; * the interval leaves out 0")
    return "\n".join(lines)


def _n(value: float | None) -> str:
    return "-" if value is None or value != value else f"{value:.4g}"


def _ci(interval: dict[str, float]) -> str:
    return f"{_n(interval['value'])} [{_n(interval['low'])}, {_n(interval['high'])}]"


def _stop(settings: Settings, args: argparse.Namespace) -> int:
    from service_layer.experiment_desk import UnknownExperimentError, describe

    experiment_id = _id(args.experiment_id)
    if experiment_id is None:
        return 2
    with _desk(settings) as desk:
        try:
            stopped = desk.stop(experiment_id, args.reason, "glow experiments stop", args.variant)
        except (DomainError, UnknownExperimentError) as error:
            return _refused(error)
        _print(describe(stopped))
    return 0


def _publish(settings: Settings, args: argparse.Namespace) -> int:
    from service_layer.experiment_desk import UnknownExperimentError

    experiment_id = _id(args.experiment_id)
    if experiment_id is None:
        return 2
    with _desk(settings) as desk:
        try:
            _print({"published": _publish_models(settings, desk, experiment_id)})
        except UnknownExperimentError as error:
            return _refused(error)
    return 0


def _publish_models(
    settings: Settings, desk: ExperimentDesk, experiment_id: UUID
) -> dict[str, int]:
    """Each challenger version of the experiment: its candidates published for every
    consenting customer of the log as it is now. Returns customers published per version."""
    from domain.experiment import MODEL
    from recommender.challenger_publishing import publish_challenger
    from recommender.config import recommendations_url
    from recommender.store import RecommendationStore
    from recommender.training import read_log
    from service_layer.bootstrap import open_ledger
    from service_layer.customer_store import close_customer_ledger, open_customer_ledger

    models = [v.target for v in desk.experiment(experiment_id).variant_list if v.kind == MODEL]
    if not models:
        return {}
    url = recommendations_url(settings)
    if url is None:
        raise SettingsError(
            "GLOW_RECOMMENDATIONS_URL is not set (nor Redis hot views): challengers' candidates "
            "are published to Redis"
        )
    store = RecommendationStore.from_url(url)
    inventory, customers = open_ledger(settings), open_customer_ledger(settings)
    try:
        signals, _fold, _new, _position = read_log(inventory, customers, None)
        now = datetime.now(UTC)
        return {v: publish_challenger(store, desk.model_root, v, signals, now) for v in models}
    finally:
        inventory.close()
        close_customer_ledger(customers)


def _guard(settings: Settings, args: argparse.Namespace) -> int:
    from service_layer.experiment_desk import guard

    every = args.every
    if every is not None and not 1 <= every <= 86_400:
        print(f"glow: --every {every} is out of range; expected 1 to 86400 seconds")
        return 2
    with _desk(settings, analytics=True) as desk:

        def check() -> None:
            _print({"checked_at": datetime.now(UTC).isoformat(), "stopped": guard(desk)})

        repeat(every, check)
    return 0
