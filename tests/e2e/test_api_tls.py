"""`glow serve` over TLS for real: a certificate made by a throwaway CA, the API answering
HTTPS to a client that verifies against that CA, plain HTTP refused on the same port, client
certificates required when --ca-certs is given, and bad files refused before start-up."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.e2e.glow_process import GLOW, environment, glow_serve
from tests.e2e.ledger_server import auth_headers
from tests.tls_certificates import ThrowawayAuthority, make_authority


@pytest.fixture
def authority(tmp_path: Path) -> ThrowawayAuthority:
    return make_authority(tmp_path)


def sqlite_store(folder: Path) -> str:
    return f"sqlite:///{folder / 'ledger.sqlite'}"


def trusting(authority: ThrowawayAuthority, client_cert: bool = False) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(authority.ca))
    if client_cert:
        context.load_cert_chain(str(authority.client.cert), str(authority.client.key))
    return context


@pytest.mark.slow  # over 15 s: CI's second pass (scripts/test -m slow)
def test_glow_serve_answers_https_with_its_certificate_and_refuses_plain_http(
    authority: ThrowawayAuthority, tmp_path: Path
) -> None:
    options = ("--certfile", str(authority.server.cert), "--keyfile", str(authority.server.key))
    with (
        httpx.Client(verify=trusting(authority), timeout=10) as https,
        glow_serve(sqlite_store(tmp_path), tmp_path, *options, client=https) as served,
    ):
        assert served.base_url.startswith("https://")
        assert https.get(served.base_url + "/health").json() == {"status": "ok"}
        locations = https.get(served.base_url + "/locations", headers=auth_headers())
        assert locations.status_code == 200, locations.text

        with pytest.raises(httpx.TransportError):  # the handshake fails: not our CA's
            httpx.get(served.base_url + "/health", verify=ssl.create_default_context())
        with pytest.raises(httpx.TransportError):  # no TLS at all: no HTTP either
            httpx.get(f"http://127.0.0.1:{served.port}/health", timeout=5)


@pytest.mark.slow  # over 15 s: CI's second pass (scripts/test -m slow)
def test_client_certificates_are_required_when_ca_certs_are_given(
    authority: ThrowawayAuthority, tmp_path: Path
) -> None:
    settings = {  # the settings this time, the command line's --ca-certs beside them
        "GLOW_TLS_CERTFILE": str(authority.server.cert),
        "GLOW_TLS_KEYFILE": str(authority.server.key),
    }
    with (
        httpx.Client(verify=trusting(authority, client_cert=True), timeout=10) as mutual,
        glow_serve(
            sqlite_store(tmp_path),
            tmp_path,
            "--ca-certs",
            str(authority.ca),
            settings=settings,
            client=mutual,
            scheme="https",
        ) as served,
    ):
        url = served.base_url + "/health"
        assert mutual.get(url).json() == {"status": "ok"}
        with (
            httpx.Client(verify=trusting(authority), timeout=10) as anonymous,
            pytest.raises(httpx.TransportError),
        ):
            anonymous.get(url)


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (("--certfile", "{cert}"), "needs both a certificate and its key"),
        (("--certfile", "{missing}", "--keyfile", "{key}"), "does not exist"),
        (("--certfile", "{key}", "--keyfile", "{key}"), "cannot use the TLS files"),
        (("--ca-certs", "{cert}"), "client certificates need TLS"),
    ],
)
def test_bad_tls_files_are_refused_before_start_up(
    authority: ThrowawayAuthority, tmp_path: Path, options: tuple[str, ...], says: str
) -> None:
    files = {
        "cert": str(authority.server.cert),
        "key": str(authority.server.key),
        "missing": str(tmp_path / "missing.crt"),
    }
    done = subprocess.run(
        [GLOW, "serve", "--port", "1", *(o.format(**files) for o in options)],
        env=environment(sqlite_store(tmp_path), tmp_path),
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert says in done.stderr.decode()
