"""The `glow` command: serve the API, apply migrations, answer auditors."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from collections.abc import Callable, Sequence

from api import (
    audit_commands,
    chain_commands,
    dev_cluster,
    export_commands,
    readside_cli,
    recommend_cli,
)
from audit.errors import AuditError
from service_layer.bootstrap import SchemaNotReadyError
from service_layer.settings import Settings, SettingsError, postgres_conninfo


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="glow", description="glowledger inventory ledger")
    parser.add_argument(
        "--store",
        help="event store URL (default: $GLOW_EVENT_STORE_URL, else sqlite:///var/ledger.sqlite)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--log-level", default="info")
    commands.add_parser(
        "migrate", help="apply PostgreSQL and ClickHouse migrations (recorded, idempotent)"
    )
    audit_commands.add_parsers(commands)
    chain_commands.add_parsers(commands)
    export_commands.add_parsers(commands)
    readside_cli.register(commands)
    recommend_cli.add_parsers(commands)
    dev_cluster.add_parser(commands)
    _add_token_parser(commands)
    keys = commands.add_parser("keys", help="master keys of the customer key vault")
    keys.add_argument("action", choices=["generate", "rotate"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        settings = Settings.from_env(event_store_url=args.store)
        if args.command == "migrate":
            return _migrate(settings)
        if args.command == "serve":
            return _serve(settings, args.host, args.port, args.log_level)
        if args.command == "token":
            return _token(settings, args)
        if args.command == "keys":
            return _keys(settings, args.action)
        if args.command in readside_cli.COMMANDS:
            return readside_cli.run(args, settings)
        run: Callable[[Settings, argparse.Namespace], int] = args.run
        return run(settings, args)
    except (SettingsError, SchemaNotReadyError, AuditError) as error:
        print(f"glow: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "glow: interrupted; run the same command again to resume (glow export: add --resume)",
            file=sys.stderr,
        )
        return 130


def _add_token_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    token = commands.add_parser("token", help="mint a development bearer token (HS256)")
    token.add_argument("--role", required=True, help="channel, store-staff, customer, ...")
    token.add_argument("--sub", default=os.environ.get("USER", "developer"), help="who")
    token.add_argument("--channel", help="the channel a channel/store-staff token acts for")
    token.add_argument("--location", help="a store-staff token's location")
    token.add_argument("--customer-id", help="a customer token's own customer id")
    token.add_argument("--scope", help="e.g. pii:read for an auditor")
    token.add_argument("--ttl", type=int, default=8 * 3600, help="seconds (default 8 h)")


def _token(settings: Settings, args: argparse.Namespace) -> int:
    from api.auth import TokenError, jwt_secret, mint_token

    try:
        print(
            mint_token(
                jwt_secret(settings),
                args.sub,
                args.role,
                args.ttl,
                channel=args.channel,
                location=args.location,
                customer_id=args.customer_id,
                scope=args.scope,
            )
        )
    except TokenError as error:
        print(f"glow: {error}", file=sys.stderr)
        return 2
    return 0


def _keys(settings: Settings, action: str) -> int:
    from privacy.master_keys import MasterKeys
    from service_layer.customer_store import close_customer_ledger, open_customer_ledger

    if action == "generate":
        print(MasterKeys.generate())
        return 0
    ledger = open_customer_ledger(settings)
    try:
        rewrapped = ledger.vault.rotate()
    finally:
        close_customer_ledger(ledger)
    print(
        f"glow: re-wrapped {rewrapped} customer key(s) under master key "
        f"{ledger.vault.masters.current_id}; GLOW_PREVIOUS_MASTER_KEYS may now be emptied"
    )
    return 0


def _migrate(settings: Settings) -> int:
    from service_layer.migrations import apply_migrations

    readside_cli.migrate_analytics(settings)
    if not settings.is_postgres():
        print("glow: nothing to migrate: the SQLite store creates its tables on first use")
        return 0
    applied = apply_migrations(postgres_conninfo(settings.event_store_url))
    print(
        f"glow: applied {len(applied)} migration(s)"
        + (f": {', '.join(applied)}" if applied else "; schema up to date")
    )
    return 0


def _serve(settings: Settings, host: str, port: int, log_level: str) -> int:
    import uvicorn

    sys.setswitchinterval(float(os.environ.get("GLOW_SWITCH_INTERVAL", "0.0005")))

    from api.app import create_app
    from service_layer.bootstrap import bootstrap

    if settings.is_postgres() and "GLOW_WRITER_PROCESS" not in os.environ:
        # A served ledger on PostgreSQL decides and saves in a process of its own, where the
        # writer never waits for the HTTP side's interpreter lock; GLOW_WRITER_PROCESS=0 keeps
        # it in-process. SQLite (the embedded default) always keeps it in-process.
        settings = dataclasses.replace(settings, writer_process=True)

    try:
        runtime = bootstrap(settings)
    except SchemaNotReadyError as error:
        print(f"glow: {error}", file=sys.stderr)
        return 2
    uvicorn.run(create_app(runtime), host=host, port=port, log_level=log_level, access_log=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
