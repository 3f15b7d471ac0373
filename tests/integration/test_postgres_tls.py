"""A store URL with TLS settings reaches libpq from every connection the ledger makes: a
throwaway PostgreSQL cluster (Debian's binaries, initdb in a temporary folder) that accepts
TLS connections only (`hostssl` alone in pg_hba.conf), its certificate made by a throwaway CA;
`glow migrate` and a command through the writer process work with `sslmode=verify-full` and
the CA, and the ledger's own pool (eventsourcing's datastore) refuses a server that the
wrong CA cannot vouch for, so the URL's parameters really reach it."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

from configuration.settings import Settings, eventsourcing_env
from domain import commands as c
from domain.ledger import InventoryLedger
from domain.trace import Trace
from service_layer.bootstrap import bootstrap
from tests.e2e.glow_process import GLOW, environment, free_port
from tests.e2e.ledger_server import TEST_MASTER_KEY
from tests.tls_certificates import ThrowawayAuthority, make_authority

BIN = Path("/usr/lib/postgresql/15/bin")


@dataclass(frozen=True)
class TlsCluster:
    port: int
    authority: ThrowawayAuthority
    other: ThrowawayAuthority  # a CA that did not sign the server's certificate

    def url(self, database: str, ca: Path | None = None, **params: str) -> str:
        query = {"sslmode": "verify-full", "sslrootcert": str(ca or self.authority.ca), **params}
        encoded = "&".join(f"{k}={quote(v, safe='/')}" for k, v in query.items())
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}?{encoded}"


def _as_postgres(*command: str | Path) -> list[str]:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return [*prefix, *map(str, command)]


@pytest.fixture(scope="module")
def tls_cluster() -> Iterator[TlsCluster]:
    if not (BIN / "initdb").exists():
        pytest.fail(f"PostgreSQL's server binaries are missing at {BIN} (postgresql-15)")
    folder = Path(tempfile.mkdtemp(prefix="glow-pg-tls-"))  # not under pytest's 0700 tmp
    data = folder / "data"
    authority, other = make_authority(folder / "ca"), make_authority(folder / "other")
    try:
        for pem in (authority.server.cert, authority.server.key):
            shutil.copy(pem, folder / pem.name)
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres")
            for pem in (authority.server.cert, authority.server.key):
                shutil.chown(folder / pem.name, "postgres")
        subprocess.run(
            _as_postgres(BIN / "initdb", "-D", data, "-U", "postgres", "--auth=trust"),
            check=True,
            capture_output=True,
            timeout=120,
        )
        (data / "pg_hba.conf").write_text(
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\n"
        )
        port = free_port()
        options = (
            f"-c port={port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={folder} "
            f"-c ssl=on -c ssl_cert_file={folder / authority.server.cert.name} "
            f"-c ssl_key_file={folder / authority.server.key.name} -c fsync=off"
        )
        subprocess.run(
            _as_postgres(
                BIN / "pg_ctl", "-D", data, "-l", folder / "log", "-o", options, "-w", "start"
            ),
            check=True,
            capture_output=True,
            timeout=120,
        )
        try:
            yield TlsCluster(port, authority, other)
        finally:
            subprocess.run(
                _as_postgres(BIN / "pg_ctl", "-D", data, "-m", "immediate", "stop"),
                capture_output=True,
                timeout=60,
                check=False,
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_migrate_and_a_command_work_over_verified_tls_only(tls_cluster: TlsCluster) -> None:
    with psycopg.connect(tls_cluster.url("postgres"), autocommit=True) as conn:
        conn.execute("CREATE DATABASE glow_tls")
        with pytest.raises(psycopg.OperationalError, match=r"no pg_hba\.conf entry"):
            psycopg.connect(tls_cluster.url("postgres", sslmode="disable"), connect_timeout=5)
    url = tls_cluster.url("glow_tls", application_name="glow-tls-test")

    migrated = subprocess.run(
        [GLOW, "--store", url, "migrate"],
        env=environment(url, Path.cwd(), GLOW_ANALYTICS_URL=""),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert migrated.returncode == 0, migrated.stderr.decode()

    settings = Settings(
        event_store_url=url, writer_process=True, master_key=TEST_MASTER_KEY, hot_views_url=None
    )
    runtime = bootstrap(settings)
    runtime.start()
    try:
        trace = Trace(channel="backoffice", principal="tls-test", occurred_at=datetime.now(UTC))
        outcome = runtime.writer.execute(
            c.RegisterLocation("TLS-1", "Over TLS", "store", 45.0, 4.0, trace)
        )
        assert outcome.body["location"] == "TLS-1", outcome.body
        with psycopg.connect(url) as conn:
            sessions = conn.execute(
                "SELECT s.ssl, a.application_name FROM pg_stat_ssl s "
                "JOIN pg_stat_activity a USING (pid) WHERE a.datname = 'glow_tls'"
            ).fetchall()
        # the ledger's pool, the writer process's, the key vault's: all over TLS, named by
        # the URL's application_name (the writer's append and store-lock connections name
        # themselves)
        assert all(ssl for ssl, _ in sessions), sessions
        assert {name for _, name in sessions} == {
            "glow-tls-test",
            "glow-writer-append",
            "glow-writer-lock",
        }
        assert (runtime.ledger.recorder.max_notification_id() or 0) >= 1  # read over TLS too
    finally:
        runtime.close()


def test_the_ledger_pool_refuses_a_server_its_root_certificate_does_not_vouch_for(
    tls_cluster: TlsCluster,
) -> None:
    env = eventsourcing_env(tls_cluster.url("postgres", ca=tls_cluster.other.ca))
    env["POSTGRES_CONNECT_TIMEOUT"] = "3"
    with pytest.raises(Exception, match="couldn't get a connection"):
        InventoryLedger(env=env).recorder.max_notification_id()
