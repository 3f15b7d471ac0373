"""A `rediss://` URL with its TLS options reaches redis-py unchanged, the ledger's own
`namespace` taken out: a throwaway Redis (Debian's, built with TLS) listening on TLS only,
its certificate made by a throwaway CA. The hot views and the recommendations store write and
read through it; a CA that did not sign the server's certificate is refused."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import redis

from projections.hot_views import ViewWrite
from recommender.store import RecommendationStore
from service_layer.read_side import open_hot_views
from tests.e2e.glow_process import free_port
from tests.tls_certificates import ThrowawayAuthority, make_authority


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path, Path]]:
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is missing (Debian's redis-server package)")
    folder = tmp_path_factory.mktemp("redis-tls")
    authority: ThrowawayAuthority = make_authority(folder / "ca")
    other = make_authority(folder / "other")
    port = free_port()
    process = subprocess.Popen(
        [
            server,
            "--port",
            "0",
            "--tls-port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--tls-cert-file",
            str(authority.server.cert),
            "--tls-key-file",
            str(authority.server.key),
            "--tls-ca-cert-file",
            str(authority.ca),
            "--tls-auth-clients",
            "no",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                client = redis.Redis(
                    port=port, ssl=True, ssl_ca_certs=str(authority.ca), ssl_cert_reqs="required"
                )
                client.ping()
                client.close()
                break
            except redis.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield port, authority.ca, other.ca
    finally:
        process.terminate()
        process.wait(10)


def url(port: int, ca: Path, namespace: str) -> str:
    return (
        f"rediss://127.0.0.1:{port}/0?namespace={namespace}&ssl_cert_reqs=required"
        f"&ssl_ca_certs={quote(str(ca), safe='/')}"
    )


def test_hot_views_and_recommendations_over_verified_tls(
    tls_redis: tuple[int, Path, Path],
) -> None:
    port, ca, _ = tls_redis
    views = open_hot_views(url(port, ca, "glow-tls"))
    document = {"version": 1, "sku": "SKU-TLS"}
    assert views.apply([ViewWrite("stock:SKU-TLS", 0, document)], "projector", 7) == []
    assert views.position("projector") == 7
    raw = redis.Redis(port=port, ssl=True, ssl_ca_certs=str(ca), ssl_cert_reqs="required")
    assert raw.keys("glow-tls:*"), raw.keys("*")  # under the namespace the URL named

    store = RecommendationStore.from_url(url(port, ca, "glow-tls-recs"))
    store.publish("v1", {"SKU-TLS": {}}, {"any": ["SKU-TLS"]}, {}, [])
    assert store.catalog() == ("v1", {"SKU-TLS": {}})


def test_a_server_the_given_ca_does_not_vouch_for_is_refused(
    tls_redis: tuple[int, Path, Path],
) -> None:
    port, _, other_ca = tls_redis
    views = open_hot_views(url(port, other_ca, "glow-tls"))
    with pytest.raises(redis.ConnectionError, match="certificate verify failed"):
        views.position("projector")
