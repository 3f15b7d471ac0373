"""Keyed pseudonyms: the ids of identity keys (an email, a phone) and the fingerprints of
request bodies, both HMAC-SHA256 under the ledger's own secret.

A plain hash of public data is no pseudonym: anyone can hash every phone number of a country
in seconds and read the log's ids back. Under a secret that lives only wrapped by the master
key (beside the customers' data keys), an id says nothing to whoever lacks the secret.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid5

import orjson

from domain.ids import GLOWLEDGER_NAMESPACE

IDENTITY_PURPOSE = b"glowledger identity ids v1"
FINGERPRINT_PURPOSE = b"glowledger request fingerprints v1"
KEYED_ID_VERSION = 8  # RFC 9562 UUIDv8 (custom): tells keyed ids from the old uuid5 ones
KEYED_FINGERPRINT = "k1:"  # tells keyed fingerprints from the plain SHA-256 ones of old stores


@dataclass(frozen=True)
class Pseudonyms:
    identity_key: bytes
    fingerprint_key: bytes
    _fingerprinting: hmac.HMAC = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Keyed once: a copy per command costs a third of a fresh HMAC (OpenSSL 3 set-up).
        object.__setattr__(self, "_fingerprinting", hmac.new(self.fingerprint_key, None, "sha256"))

    @classmethod
    def from_secret(cls, secret: bytes) -> Pseudonyms:
        """One sub-key per use, so an identity id can never stand in for a fingerprint."""
        return cls(_derive(secret, IDENTITY_PURPOSE), _derive(secret, FINGERPRINT_PURPOSE))

    def identity_id(self, kind: str, normalised: str) -> UUID:
        digest = hmac.digest(self.identity_key, f"identity:{kind}:{normalised}".encode(), "sha256")
        return keyed_uuid(digest)

    def fingerprint(self, method: str, path: str, data: Any) -> str:
        """One HMAC over the method, path and canonical body: a retry's body is recognised,
        and a guessed body cannot be checked against the stored fingerprint."""
        canonical = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
        keyed = self._fingerprinting.copy()
        keyed.update(method.encode() + b" " + path.encode() + b"\n" + canonical)
        return KEYED_FINGERPRINT + keyed.hexdigest()


def keyed_uuid(digest: bytes) -> UUID:
    number = int.from_bytes(digest[:16], "big")
    number &= ~(0xF000 << 64) & ~(0xC000 << 48)
    number |= (KEYED_ID_VERSION << 76) | (0x8000 << 48)
    return UUID(int=number)


def legacy_identity_id(kind: str, normalised: str) -> UUID:
    """The id stores made before keyed ids (uuid5 in a published namespace). Only looked up,
    so a customer registered then is still found; never given to a new identity."""
    return uuid5(GLOWLEDGER_NAMESPACE, f"identity:{kind}:{normalised}")


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return hmac.digest(secret, purpose, hashlib.sha256)


BEHAVIOUR_PERSON_PURPOSE = b"glowledger behaviour person v1"


def behaviour_person(data_key: bytes) -> str:
    """The pseudonym behaviour rows carry for a customer: keyed by the customer's own data key,
    so shredding the key (forget) leaves the rows linkable to nobody."""
    return hmac.digest(data_key, BEHAVIOUR_PERSON_PURPOSE, hashlib.sha256).hex()[:32]
