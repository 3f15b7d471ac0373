"""RS256 tokens of an external OpenID Connect provider, verified against its published JWKS."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from api.auth import TokenError, TokenVerifier

PROVIDER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    public = json.loads(RSAAlgorithm.to_jwk(PROVIDER_KEY.public_key()))
    document = json.dumps({"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]})

    class Keys(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(document.encode())

        def log_message(self, *_: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Keys)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/jwks.json"
    server.shutdown()
    server.server_close()


def signed(key: Any, **claims: Any) -> str:
    now = int(time.time())
    payload = {"sub": "oidc-user", "role": "analyst", "iss": "https://idp.test"}
    payload |= {"iat": now, "exp": now + 60}
    return jwt.encode({**payload, **claims}, key, algorithm="RS256", headers={"kid": "k1"})


def test_a_token_signed_by_the_provider_is_accepted(jwks_url: str) -> None:
    verifier = TokenVerifier(jwks_url=jwks_url, issuer="https://idp.test")
    assert verifier.verify(signed(PROVIDER_KEY)).role == "analyst"


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(lambda: signed(OTHER_KEY), id="signed by another key"),
        pytest.param(lambda: signed(PROVIDER_KEY, iss="https://evil.test"), id="other issuer"),
        pytest.param(
            lambda: jwt.encode({"sub": "x", "role": "admin", "exp": 2**40}, "s" * 32, "HS256"),
            id="HS256 where RS256 is required",
        ),
    ],
)
def test_a_token_the_provider_did_not_sign_is_refused(jwks_url: str, token: Any) -> None:
    with pytest.raises(TokenError):
        TokenVerifier(jwks_url=jwks_url, issuer="https://idp.test").verify(token())
