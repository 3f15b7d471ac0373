"""The `glow` command: serve the API, apply migrations, answer auditors."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from audit.errors import AuditError
from cli import (
    audit_commands,
    backup_commands,
    chain_commands,
    dev_cluster,
    export_commands,
)
from cli import dead_letters as dead_letters_cli
from cli import experiments as experiments_cli
from cli import forecast as forecast_cli
from cli import loyalty as loyalty_cli
from cli import read_side as readside_cli
from cli import recommend as recommend_cli
from cli import replenish as replenish_cli
from cli import retention as retention_cli
from cli import segments as segments_cli
from cli import shared_writer as shared_writer_cli
from cli import tills as tills_cli
from cli import tracking as tracking_cli
from cli import webhooks as webhooks_cli
from configuration.logs import configure_logging
from configuration.settings import Settings, SettingsError, postgres_conninfo
from service_layer.bootstrap import SchemaNotReadyError
from service_layer.customer_store import SealedCustomerLedger


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
    serve.add_argument(
        "--certfile", help="PEM certificate chain: serve HTTPS only ($GLOW_TLS_CERTFILE)"
    )
    serve.add_argument("--keyfile", help="its PEM private key ($GLOW_TLS_KEYFILE)")
    serve.add_argument(
        "--ca-certs", help="PEM CAs: require a client certificate they signed ($GLOW_TLS_CA_CERTS)"
    )
    commands.add_parser(
        "migrate", help="apply PostgreSQL and ClickHouse migrations (recorded, idempotent)"
    )
    audit_commands.add_parsers(commands)
    chain_commands.add_parsers(commands)
    export_commands.add_parsers(commands)
    readside_cli.register(commands)
    dead_letters_cli.add_parsers(commands)
    recommend_cli.add_parsers(commands)
    webhooks_cli.add_parsers(commands)
    loyalty_cli.add_parsers(commands)
    tills_cli.add_parsers(commands)
    replenish_cli.add_parsers(commands)
    tracking_cli.add_parsers(commands)
    retention_cli.add_parsers(commands)
    segments_cli.add_parsers(commands)
    forecast_cli.add_parsers(commands)
    experiments_cli.add_parsers(commands)
    backup_commands.add_parsers(commands)
    shared_writer_cli.add_parser(commands)
    dev_cluster.add_parser(commands)
    _add_token_parser(commands)
    keys = commands.add_parser("keys", help="master keys of the customer key vault")
    keys.add_argument(
        "action",
        choices=["generate", "rotate", "purge", "rekey-identities"],
        help="generate: print a new master key; rotate: re-wrap every key under "
        "GLOW_MASTER_KEY; purge: leave no copy of a forgotten customer's key in the store's "
        "files; rekey-identities: give customers of an older version keyed identity ids",
    )
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env(event_store_url=args.store)
        configure_logging(settings)
        if args.command == "migrate":
            return _migrate(settings)
        if args.command == "serve":
            return _serve(settings, args)
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

    if not 0 < args.ttl <= settings.jwt_max_lifetime_seconds:
        print(
            f"glow: --ttl must be 1 to {settings.jwt_max_lifetime_seconds} seconds, the longest "
            "lifetime the API accepts (GLOW_JWT_MAX_LIFETIME_SECONDS)",
            file=sys.stderr,
        )
        return 2
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
        if action == "purge":
            return _purge(ledger.vault.purge(), settings)
        if action == "rekey-identities":
            return _rekey(ledger)
        rewrapped = ledger.vault.rotate()
    finally:
        close_customer_ledger(ledger)
    print(
        f"glow: re-wrapped {rewrapped} key(s) (customers' data keys and the ledger's secret) "
        f"under master key {ledger.vault.masters.current_id}; GLOW_PREVIOUS_MASTER_KEYS may "
        "now be emptied"
    )
    return 0


def _rekey(ledger: SealedCustomerLedger) -> int:
    from privacy.pseudonyms import Pseudonyms
    from service_layer.customer_desk import CustomerDesk
    from service_layer.identity_rekeying import rekey_identities

    pseudonyms = Pseudonyms.from_secret(ledger.vault.ledger_secret())
    desk = CustomerDesk(ledger)
    try:
        done = rekey_identities(desk, pseudonyms)
    finally:
        desk.close()
    print(
        f"glow: {done.identities} identity id(s) of {done.customers} customer(s) re-keyed; "
        f"{done.left} old id(s) left whose contact is no longer held (forgotten or changed)"
    )
    return 0


def _purge(done: bool, settings: Settings) -> int:
    from service_layer.answer_fingerprints import erase_unkeyed_fingerprints

    if not done:
        print("glow: the write-ahead log is held by another connection; run again", file=sys.stderr)
        return 1
    where = "customer_keys was rewritten" if settings.is_postgres() else "the WAL was truncated"
    erased = erase_unkeyed_fingerprints(settings)
    print(
        f"glow: {where}: no deleted key is left in the store's files; {erased} unkeyed request "
        "fingerprint(s) of an older version erased. Copies in backups, replicas or archived WAL "
        "die with the master key: rotate it (new GLOW_MASTER_KEY, old one in "
        "GLOW_PREVIOUS_MASTER_KEYS, `glow keys rotate`), then destroy the old one"
    )
    return 0


def _migrate(settings: Settings) -> int:
    from storage.migrations import apply_migrations

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


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    sys.setswitchinterval(float(os.environ.get("GLOW_SWITCH_INTERVAL", "0.0005")))

    from api.app import create_app
    from cli.serving import Tls, serve
    from service_layer.bootstrap import bootstrap
    from telemetry import tracing

    tls = Tls.from_options(settings, args.certfile, args.keyfile, args.ca_certs)
    tracing.start(settings, tracing.API)  # nothing unless GLOW_TRACING is on
    try:
        try:
            runtime = bootstrap(settings)
        except SchemaNotReadyError as error:
            print(f"glow: {error}", file=sys.stderr)
            return 2
        serve(runtime, create_app(runtime), args.host, args.port, args.log_level, tls)
    finally:
        tracing.stop()  # exports the spans it still holds
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
