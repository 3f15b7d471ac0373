"""Tokens: minted for development, read into a principal, refused when they say too little."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest

from api.auth import LEEWAY_SECONDS, PII_READ, TokenError, TokenVerifier, mint_token

SECRET = "unit-test-secret-of-enough-length-0123456789"


def test_a_minted_token_reads_back_as_its_principal() -> None:
    customer = uuid.uuid4()
    token = mint_token(SECRET, "ana", "customer", customer_id=str(customer), channel="app")
    principal = TokenVerifier(secret=SECRET).verify(token)
    assert (principal.subject, principal.role, principal.channel) == ("ana", "customer", "app")
    assert principal.customer_id == customer and principal.may_read_pii


@pytest.mark.parametrize(
    "role,claims,channel",
    [
        ("customer", {"customer_id": str(uuid.uuid4())}, "web"),
        ("store-staff", {"location": "SHOP-1"}, "pos"),
        ("admin", {}, None),
    ],
)
def test_a_token_naming_no_channel_acts_for_a_fixed_one_unless_it_is_an_admins(
    role: str, claims: dict[str, str], channel: str | None
) -> None:
    """Only an admin picks the channel per request (X-Channel); for everyone else the events
    record the token's channel, so a customer cannot sign a consent as the till."""
    principal = TokenVerifier(secret=SECRET).verify(mint_token(SECRET, "x", role, **claims))
    assert principal.channel == channel


def test_an_auditor_reads_personal_data_only_with_pii_read() -> None:
    verifier = TokenVerifier(secret=SECRET)
    assert not verifier.verify(mint_token(SECRET, "a", "auditor")).may_read_pii
    assert verifier.verify(mint_token(SECRET, "a", "auditor", scope=PII_READ)).may_read_pii
    assert not verifier.verify(mint_token(SECRET, "a", "analyst")).may_read_pii


@pytest.mark.parametrize(
    "role,claims",
    [("store-staff", {}), ("channel", {}), ("customer", {"customer_id": "nope"}), ("root", {})],
)
def test_a_token_that_says_too_little_is_not_minted(role: str, claims: dict[str, str]) -> None:
    with pytest.raises(TokenError):
        mint_token(SECRET, "x", role, **claims)


def test_a_token_for_another_audience_is_refused() -> None:
    verifier = TokenVerifier(secret=SECRET, audience="glowledger")
    with pytest.raises(TokenError):
        verifier.verify(mint_token(SECRET, "x", "admin", aud="someone-else"))
    assert verifier.verify(mint_token(SECRET, "x", "admin", aud="glowledger")).role == "admin"


def test_a_token_is_remembered_only_until_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    verifier = TokenVerifier(secret=SECRET)
    token = mint_token(SECRET, "till-7", "channel", 60, channel="pos")
    decoded: list[str] = []
    decode = verifier._decode

    def counting(raw: str) -> object:
        decoded.append(raw)
        return decode(raw)

    monkeypatch.setattr(verifier, "_decode", counting)
    assert verifier.verify(token).subject == "till-7"
    assert verifier.verify(token).subject == "till-7"
    assert len(decoded) == 1  # the second time from memory

    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    verifier.verify(token)  # past its expiry it is checked again (and PyJWT's leeway applies)
    assert len(decoded) == 2


def test_an_expired_token_is_refused() -> None:
    token = mint_token(SECRET, "till-7", "channel", -(LEEWAY_SECONDS + 5), channel="pos")
    with pytest.raises(TokenError, match="expired"):
        TokenVerifier(secret=SECRET).verify(token)


def test_a_forged_token_is_refused_even_beside_a_remembered_one() -> None:
    verifier = TokenVerifier(secret=SECRET)
    good = mint_token(SECRET, "till-7", "channel", 60, channel="pos")
    verifier.verify(good)
    forged = mint_token(
        "another-secret-of-at-least-32-bytes!", "till-7", "channel", 60, channel="pos"
    )
    with pytest.raises(TokenError):
        verifier.verify(forged)


NOW = int(time.time())
LIFETIMES: dict[str, dict[str, int]] = {
    "a year": {"iat": NOW, "exp": NOW + 365 * 24 * 3600},
    "issued long ago": {"iat": 0, "exp": NOW + 60},
    "exp 10^20": {"iat": NOW, "exp": 10**20},
    "no iat": {"exp": NOW + 60},
    "no exp": {"iat": NOW},
}


@pytest.mark.parametrize("times", LIFETIMES.values(), ids=LIFETIMES.keys())
def test_a_token_valid_for_longer_than_the_maximum_or_without_iat_and_exp_is_refused(
    times: dict[str, int],
) -> None:
    token = jwt.encode({"sub": "x", "role": "admin", **times}, SECRET, algorithm="HS256")
    with pytest.raises(TokenError, match=r"iat|exp|at most 3600 s"):
        TokenVerifier(secret=SECRET, max_lifetime_seconds=3600).verify(token)


def test_a_token_within_the_maximum_lifetime_is_accepted() -> None:
    token = mint_token(SECRET, "x", "admin", 3600)
    assert TokenVerifier(secret=SECRET, max_lifetime_seconds=3600).verify(token).role == "admin"
    refused = TokenVerifier(secret=SECRET, max_lifetime_seconds=3599)
    with pytest.raises(TokenError, match="at most 3599 s"):
        refused.verify(token)
