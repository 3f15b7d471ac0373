"""The master keys that wrap every customer's data key: the current one, and previous ones
kept only until `glow keys rotate` has re-wrapped every data key under the current one."""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


class MasterKeyError(ValueError):
    """A master key is missing, malformed, or does not open a wrapped data key."""


@dataclass(frozen=True)
class MasterKeys:
    current: bytes
    previous: tuple[bytes, ...] = ()

    @classmethod
    def from_text(cls, current: str, previous: str = "") -> MasterKeys:
        """Base64 keys of 32 bytes; `previous` is a comma-separated list."""
        olds = tuple(_decode(text) for text in previous.split(",") if text.strip())
        return cls(_decode(current), olds)

    @staticmethod
    def generate() -> str:
        return base64.b64encode(os.urandom(32)).decode()

    @property
    def current_id(self) -> str:
        return key_id(self.current)

    def wrap(self, customer_id: UUID, data_key: bytes) -> tuple[str, bytes]:
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.current).encrypt(nonce, data_key, customer_id.bytes)
        return self.current_id, nonce + sealed

    def unwrap(self, customer_id: UUID, wrapped_by: str, wrapped: bytes) -> bytes:
        master = self._by_id(wrapped_by)
        try:
            return AESGCM(master).decrypt(
                wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], customer_id.bytes
            )
        except InvalidTag:
            raise MasterKeyError(
                f"the data key of customer {customer_id} does not open with master key "
                f"{wrapped_by}: it was altered or wrapped for another customer"
            ) from None

    def _by_id(self, wanted: str) -> bytes:
        for master in (self.current, *self.previous):
            if key_id(master) == wanted:
                return master
        raise MasterKeyError(
            f"master key {wanted} is not configured: set it in GLOW_PREVIOUS_MASTER_KEYS "
            "until `glow keys rotate` has re-wrapped every data key"
        )


def key_id(master: bytes) -> str:
    """A short public name for a master key, so a row says which key wrapped it."""
    return hashlib.sha256(b"glow-master-key-id" + master).hexdigest()[:16]


def _decode(text: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise MasterKeyError("a master key must be base64 (try `glow keys generate`)") from None
    if len(raw) != 32:
        raise MasterKeyError(f"a master key must be 32 bytes (AES-256), got {len(raw)}")
    return raw
