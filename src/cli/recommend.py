"""`glow recommend train|follow|versions|promote|evaluate|replay-eval|uptake` (the recommender:
a batch retrain, the continuous follower, the versions with their gate records, a rollback, the
evaluations, a replay of the log) and `glow demo` (a synthetic business seeded through the
command API)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from configuration.settings import Settings


def add_parsers(commands: Any) -> None:
    recommend = commands.add_parser("recommend", help="train, evaluate and publish recommendations")
    steps = recommend.add_subparsers(dest="step", required=True)
    train = steps.add_parser("train", help="read the event log, train, save a model, publish")
    train.add_argument(
        "--since-last", action="store_true", help="read only the log since the last model"
    )
    train.add_argument("--no-publish", action="store_true", help="do not write to Redis")
    train.add_argument(
        "--force",
        action="store_true",
        help="promote even if the gate refuses (recorded as forced, with the gate's figures)",
    )
    train.set_defaults(run=_train)
    follow = steps.add_parser(
        "follow",
        help="keep the model current: warm updates and full retrains through the promotion "
        "gate, until SIGINT/SIGTERM (with GLOW_BROKER_URL, a Faust agent on the inventory topic)",
    )
    follow.add_argument(
        "--web-port", type=int, default=6067, help="the Faust app's web port (with a broker)"
    )
    follow.add_argument(
        "--data-dir", default="var/faust-recommender", help="Faust's folder (with a broker)"
    )
    follow.set_defaults(run=_follow)
    listed = steps.add_parser("versions", help="the model versions with their gate records")
    listed.add_argument("--json", action="store_true", help="one JSON document")
    listed.set_defaults(run=_versions)
    promote = steps.add_parser(
        "promote", help="serve an existing version (a rollback): point at it and publish it"
    )
    promote.add_argument("version", help="a version `glow recommend versions` lists, e.g. v0003")
    promote.add_argument("--reason", default="rolled back by an operator", help="recorded")
    promote.set_defaults(run=_promote)
    evaluate = steps.add_parser("evaluate", help="precision@10, recall@10, AUC on a time hold-out")
    evaluate.add_argument("--holdout-days", type=int, default=60)
    evaluate.add_argument(
        "--movielens",
        action="store_true",
        help="also MovieLens 100k (recbole wheel): random and forward-in-time splits, warm update",
    )
    evaluate.set_defaults(run=_evaluate)
    replay = steps.add_parser(
        "replay-eval",
        help="replay the log: score a model and a ranking policy on what customers bought next",
    )
    replay.add_argument("--since", required=True, help="T1: the state is the log's before it")
    replay.add_argument("--until", required=True, help="T2: purchases in [T1, T2) are scored")
    replay.add_argument(
        "--model",
        help="a saved version (vNNNN) trained before T1, or `serving`; default: one trained "
        "as of T1",
    )
    replay.add_argument("--policy", default="standard", help="the candidate ranking policy")
    replay.add_argument(
        "--baseline",
        help="the policy beside it (default: standard, or popular-for-skin-type when the "
        "candidate is standard)",
    )
    replay.add_argument(
        "--channel",
        default="web",
        help="the channel the lists are served on (its promotions apply); `none`: only "
        "promotions on every channel",
    )
    replay.add_argument(
        "--basis",
        choices=("recorded", "occurred"),
        default="recorded",
        help="recorded: the events the ledger had recorded by T1 (default); occurred: the "
        "events whose trace says they happened by then",
    )
    replay.add_argument("--json", action="store_true", help="one JSON document, nothing else")
    replay.set_defaults(run=_replay)
    sold = steps.add_parser("uptake", help="whether the serving model's suggestions sold since")
    sold.set_defaults(run=_uptake)
    demo = commands.add_parser("demo", help="seed a synthetic business through the command API")
    demo.add_argument("--products", type=int, default=300)
    demo.add_argument("--customers", type=int, default=2000)
    demo.add_argument("--seed", type=int, default=7)
    demo.set_defaults(run=_demo)


def _ledgers(settings: Settings) -> tuple[Any, Any]:
    from service_layer.bootstrap import open_ledger
    from service_layer.customer_store import open_customer_ledger

    # One thread reads the logs (the follower's, or a command's): two connections each.
    return open_ledger(settings, connections=2), open_customer_ledger(settings, connections=2)


def _train(settings: Settings, args: argparse.Namespace) -> int:
    from recommender.config import behaviour_source, model_dir, recommendations_url
    from recommender.store import RecommendationStore
    from recommender.training import train_from_log

    url = None if args.no_publish else recommendations_url(settings)
    store = RecommendationStore.from_url(url) if url else None
    inventory, customers = _ledgers(settings)
    report = train_from_log(
        inventory,
        customers,
        model_dir(),
        datetime.now(UTC),
        args.since_last,
        store,
        behaviour=behaviour_source(settings),
        force=args.force,
    )
    published = store is not None and report.promoted
    print(json.dumps({**report.as_dict(), "published": published}, indent=1))
    if report.version is None:
        print(f"glow: no version made: {report.reason}; --force trains and promotes anyway")
    return 0


def _follow(settings: Settings, args: argparse.Namespace) -> int:
    import signal
    import threading

    from cli.health_port import serve_health
    from recommender.config import behaviour_source, model_dir, recommendations_url
    from recommender.continuous import Cadence, ModelKeeper
    from recommender.store import RecommendationStore
    from service_layer.recommender_follower import RecommenderFollower

    url = recommendations_url(settings)
    if url is None:
        print(
            "glow: the follower publishes what it promotes: set GLOW_RECOMMENDATIONS_URL "
            "(redis://...) or Redis hot views (GLOW_HOT_VIEWS_URL=redis://...)",
            file=sys.stderr,
        )
        return 2
    inventory, customers = _ledgers(settings)
    keeper = ModelKeeper(
        model_dir(),
        inventory,
        customers,
        RecommendationStore.from_url(url),
        behaviour_source(settings),
    )
    cadence = Cadence(
        settings.recommender_update_interactions,
        settings.recommender_update_seconds,
        settings.recommender_retrain_hours,
    )
    follower = RecommenderFollower(keeper, cadence)
    if settings.metrics_port is not None:
        serve_health(settings, "recommender", follower.not_ready)
    if settings.broker_url:
        from cli.worker import faust_worker
        from service_layer.recommender_agent import create_recommender_app

        app = create_recommender_app(
            settings.bootstrap_servers(),
            follower,
            prefix=settings.topic_prefix,
            web_port=args.web_port,
            data_dir=args.data_dir,
        )
        faust_worker(app, settings).execute_from_commandline()
        return 0
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    print(f"glow: recommender follower on {model_dir()}", file=sys.stderr)
    follower.run(stop)
    promoted = sum(o.promoted for o in follower.outcomes)
    made = sum(o.version is not None for o in follower.outcomes)
    print(f"glow: recommender stopped: {made} version(s), {promoted} promoted", file=sys.stderr)
    return 0


def _versions(settings: Settings, args: argparse.Namespace) -> int:
    from recommender.artefact_versions import versions
    from recommender.artefacts import record
    from recommender.config import model_dir
    from recommender.serving_pointer import promotions, serving_version

    root = model_dir()
    serving = serving_version(root)
    listed = []
    for directory in versions(root):
        meta = record(directory)
        listed.append({"serving": directory == serving, **meta})
    if args.json:
        document = {
            "serving": serving.name if serving else None,
            "versions": listed,
            "promotions": promotions(root),
        }
        print(json.dumps(document, indent=1))
        return 0
    if not listed:
        print("glow: no model versions yet; run `glow recommend train`")
        return 0
    for meta in listed:
        gate = meta.get("gate") or {}
        decision = "promoted" if gate.get("promoted") else "refused" if gate else "legacy"
        mark = "*" if meta["serving"] else " "
        print(
            f"{mark} {meta['version']} {meta.get('kind', 'full'):4} {decision:8} "
            f"trained {meta['trained_until']} position {meta['position']}: "
            f"{gate.get('reason', 'trained before the gate existed')}"
        )
    return 0


def _promote(settings: Settings, args: argparse.Namespace) -> int:
    from recommender.config import model_dir, recommendations_url
    from recommender.continuous import ModelKeeper
    from recommender.serving_pointer import UnknownVersionError, require_version
    from recommender.store import RecommendationStore

    try:
        require_version(model_dir(), args.version)
    except UnknownVersionError as error:
        print(f"glow: {error}", file=sys.stderr)
        return 2
    url = recommendations_url(settings)
    store = RecommendationStore.from_url(url) if url else None
    inventory, customers = _ledgers(settings)
    keeper = ModelKeeper(model_dir(), inventory, customers, store)
    keeper.read()
    entry = keeper.promote(args.version, datetime.now(UTC), args.reason)
    print(json.dumps({**entry, "published": store is not None}, indent=1))
    return 0


def _evaluate(settings: Settings, args: argparse.Namespace) -> int:
    from recommender.config import behaviour_source
    from recommender.evaluation import NothingToEvaluateError, evaluate_log
    from recommender.rule_audit import audit_suggestions
    from recommender.training import read_sources

    inventory, customers = _ledgers(settings)
    cutoff = datetime.now(UTC) - timedelta(days=args.holdout_days)
    log = read_sources(inventory, customers, None)
    signals, implicit = log.signals(behaviour_source(settings), cutoff)  # browsing before the cut
    out: dict[str, Any] = {}
    try:
        report, model = evaluate_log(signals, cutoff)
    except NothingToEvaluateError as empty:
        if not args.movielens:
            print(f"glow: {empty}", file=sys.stderr)
            return 2
        out["log"] = str(empty)
    else:
        out |= report.as_dict() | audit_suggestions(model, signals).as_dict()
        out |= implicit.as_dict()
        if implicit.interactions:  # the same hold-out without behaviour: what it brings
            without, _ = evaluate_log(log.signals()[0], cutoff)
            out |= without.model.as_dict("without_behaviour_model_")
    if args.movielens:
        from recommender import movielens
        from recommender.movielens_temporal import run_temporal, run_warm_update

        result = movielens.run()
        out |= result.model.as_dict("ml100k_") | result.popular.as_dict("ml100k_popular_")
        out |= run_temporal().as_dict() | run_warm_update().as_dict()
    print(json.dumps(out, indent=1))
    return 0


def _replay(settings: Settings, args: argparse.Namespace) -> int:
    from audit.errors import InvalidAuditQueryError
    from audit.time_travel import parse_instant
    from domain.channel_rules import CHANNELS
    from recommender.config import configured_model_dir
    from recommender.ranking_policies import UnknownPolicyError, policy
    from recommender.replay_evaluation import (
        ReplayRefusedError,
        candidate_model,
        replay_evaluation,
        replay_log,
    )

    channel = None if args.channel == "none" else args.channel
    try:
        if channel is not None and channel not in CHANNELS:
            raise ReplayRefusedError(
                f"unknown channel {channel!r}; expected one of {', '.join(CHANNELS)} or none"
            )
        since, until = parse_instant(args.since), parse_instant(args.until)
        candidate = policy(args.policy)
        baseline = policy(args.baseline) if args.baseline else None
        inventory, customers = _ledgers(settings)
        log = replay_log(inventory, customers, since, until, args.basis)
        name, model = candidate_model(log, since, configured_model_dir(), args.model)
        report = replay_evaluation(
            log, since, until, name, model, candidate, baseline, channel, args.basis
        )
    except (InvalidAuditQueryError, ReplayRefusedError, UnknownPolicyError) as error:
        print(f"glow: {error}")
        return 2
    out = report.as_dict()
    if args.json:
        print(json.dumps(out))
    else:
        print(json.dumps(out, indent=1))
        if report.rule_violations:
            print(f"glow: {report.rule_violations} served suggestions broke a rule")
    return 1 if report.rule_violations else 0


def _uptake(settings: Settings, args: argparse.Namespace) -> int:
    from recommender import artefacts
    from recommender.config import model_dir
    from recommender.serving_pointer import serving_version
    from recommender.training import read_log
    from recommender.uptake import uptake

    serving = serving_version(model_dir())
    if serving is None:
        print("glow: no model serves yet; run `glow recommend train` first")
        return 2
    model, _meta = artefacts.load(serving)
    inventory, customers = _ledgers(settings)
    signals, _, _, _ = read_log(inventory, customers, None)
    print(json.dumps(uptake(model, serving.name, signals).as_dict(), indent=1))
    return 0


def _demo(settings: Settings, args: argparse.Namespace) -> int:
    import asyncio

    from demo.running import seed_in_process

    counts = asyncio.run(seed_in_process(settings, args.products, args.customers, args.seed))
    print(json.dumps(counts, indent=1))
    print("glow: now run `glow recommend train` to train and publish recommendations")
    return 0
