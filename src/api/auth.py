"""Bearer tokens: who is calling, in which role, for which channel, location or customer.

HS256 with GLOW_JWT_SECRET is the embedded default (`glow token` mints with the same key);
with GLOW_JWT_JWKS_URL set, RS256 tokens of an external OpenID Connect provider are verified
against its published keys instead.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import jwt

from configuration.settings import (
    Settings,
    SettingsError,
    development_secret,
    eventsourcing_env,
)

ROLES = ("channel", "store-staff", "customer", "auditor", "analyst", "operator", "admin")
PII_READ = "pii:read"
DEV_SECRET_FILE = "glow-jwt.secret"  # noqa: S105 (a file name, not a secret)
LEEWAY_SECONDS = 30
# The channel a token acts for when it names none: only an admin may choose one per request
# (X-Channel); a customer acts through their own account, staff at their till.
IMPLIED_CHANNELS = {"customer": "web", "store-staff": "pos"}


VERIFIED_TOKENS_KEPT = 10_000


class TokenError(Exception):
    """The bearer token is missing, malformed, forged, expired or says too little."""


@dataclass(frozen=True)
class Principal:
    subject: str
    role: str
    channel: str | None = None  # None: may act on any channel (admin, or who cannot act)
    location: str | None = None  # store-staff: the one location they work at
    customer_id: UUID | None = None  # customer: the one profile they may see
    scopes: frozenset[str] = field(default_factory=frozenset)

    @property
    def may_read_pii(self) -> bool:
        if self.role == "auditor":
            return PII_READ in self.scopes
        return self.role in ("channel", "store-staff", "customer", "admin")


@dataclass
class TokenVerifier:
    secret: str = ""
    jwks_url: str = ""
    issuer: str = ""
    audience: str = ""
    max_lifetime_seconds: int = 24 * 3600  # exp - iat; a longer-lived token is refused
    _jwks: jwt.PyJWKClient | None = None
    _verified: OrderedDict[str, tuple[Principal, float]] = field(default_factory=OrderedDict)

    def verify(self, token: str) -> Principal:
        """A channel sends the same token with thousands of commands: a token verified once is
        remembered (bounded, never past its expiry) instead of being decoded every time."""
        known = self._verified.get(token)
        if known is not None and known[1] > time.time():
            return known[0]
        principal, expires = self._decode(token)
        self._verified[token] = (principal, expires)
        while len(self._verified) > VERIFIED_TOKENS_KEPT:
            self._verified.popitem(last=False)
        return principal

    def _decode(self, token: str) -> tuple[Principal, float]:
        try:
            claims = jwt.decode(
                token,
                key=self._key(token),
                algorithms=["RS256"] if self.jwks_url else ["HS256"],
                issuer=self.issuer or None,
                audience=self.audience or None,
                leeway=LEEWAY_SECONDS,
                options={"require": ["sub", "iat", "exp"], "verify_aud": bool(self.audience)},
            )
        except jwt.ExpiredSignatureError:
            raise TokenError("the bearer token has expired; get a new one") from None
        except jwt.PyJWTError as error:
            raise TokenError(f"the bearer token is not valid: {error}") from None
        self._require_lifetime(claims)
        return principal_from(claims), float(claims["exp"])

    def _require_lifetime(self, claims: dict[str, Any]) -> None:
        lifetime = float(claims["exp"]) - float(claims["iat"])
        if not 0 < lifetime <= self.max_lifetime_seconds:
            raise TokenError(
                f"the bearer token is valid for {lifetime:.0f} s (exp - iat); this ledger accepts "
                f"tokens valid for at most {self.max_lifetime_seconds} s "
                "(GLOW_JWT_MAX_LIFETIME_SECONDS): get a shorter-lived one"
            )

    def _key(self, token: str) -> Any:
        if not self.jwks_url:
            return self.secret
        if self._jwks is None:
            self._jwks = jwt.PyJWKClient(self.jwks_url, cache_keys=True)
        try:
            return self._jwks.get_signing_key_from_jwt(token).key
        except jwt.PyJWTError as error:
            raise TokenError(f"no signing key for the bearer token: {error}") from None


def principal_from(claims: dict[str, Any]) -> Principal:
    role = claims.get("role")
    if role not in ROLES:
        raise TokenError(f"the token's role {role!r} is not one of {', '.join(ROLES)}")
    customer = claims.get("customer_id")
    try:
        customer_id = UUID(str(customer)) if customer else None
    except ValueError:
        raise TokenError(f"the token's customer_id {customer!r} is not a UUID") from None
    principal = Principal(
        subject=str(claims["sub"])[:200],
        role=role,
        channel=claims.get("channel") or IMPLIED_CHANNELS.get(role),
        location=claims.get("location"),
        customer_id=customer_id,
        scopes=frozenset(str(claims.get("scope", "")).split()),
    )
    _require_attributes(principal)
    return principal


def _require_attributes(principal: Principal) -> None:
    needs = {
        "channel": "channel",
        "store-staff": "location",
        "customer": "customer_id",
    }  # operator: none
    attribute = needs.get(principal.role)
    if attribute and getattr(principal, attribute) is None:
        raise TokenError(f"a {principal.role} token needs a {attribute!r} claim")


def mint_token(secret: str, subject: str, role: str, ttl_seconds: int = 3600, **claims: Any) -> str:
    """An HS256 token for development and tests (production tokens come from the provider)."""
    now = int(time.time())
    payload = {"sub": subject, "role": role, "iat": now, "exp": now + ttl_seconds}
    payload.update({name: value for name, value in claims.items() if value is not None})
    principal_from(payload)  # refuse to mint a token the API would refuse
    return jwt.encode(payload, secret, algorithm="HS256")


def new_jwt_secret() -> str:
    return secrets.token_urlsafe(48)


def jwt_secret(settings: Settings) -> str:
    """GLOW_JWT_SECRET; the embedded SQLite mode keeps a development secret beside its store."""
    if settings.jwt_secret:
        return settings.jwt_secret
    if settings.is_postgres():
        if settings.jwt_jwks_url:
            return ""
        raise SettingsError(
            "GLOW_JWT_SECRET (or GLOW_JWT_JWKS_URL) is not set: the API needs a key to "
            "verify bearer tokens"
        )
    store = Path(eventsourcing_env(settings.event_store_url)["SQLITE_DBNAME"])
    return development_secret(store.with_name(DEV_SECRET_FILE), new_jwt_secret)


def verifier(settings: Settings) -> TokenVerifier:
    return TokenVerifier(
        secret=jwt_secret(settings),
        jwks_url=settings.jwt_jwks_url,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        max_lifetime_seconds=settings.jwt_max_lifetime_seconds,
    )
