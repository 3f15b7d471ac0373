"""A mapper that seals each customer event's `personal` member with that customer's key.

Everything else in the event (its type, consents, skus, trace) is stored as the inventory
ledger stores it, so history stays whole; `personal` alone is AES-256-GCM ciphertext, bound by
its associated data to the one event it belongs to. Without the key (the customer was
forgotten) the event comes back with `personal=None`, which the aggregate reads as erased.
"""

from __future__ import annotations

import base64
import os
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent, Transcoder

from privacy.vault import KeyVault

SEALED = "__sealed__"
NONCE_BYTES = 12


class PersonalDataMapper(Mapper[UUID]):
    def __init__(self, transcoder: Transcoder, vault: KeyVault) -> None:
        super().__init__(transcoder)
        self.vault = vault

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        stored = super().to_stored_event(domain_event)
        personal = getattr(domain_event, "personal", None)
        if personal is None:
            return stored
        state = self.transcoder.decode(stored.state)
        key = self.vault.data_key_for_writing(_originator(stored))
        aad = _associated_data(stored)
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(key).encrypt(nonce, self.transcoder.encode(personal), aad)
        state["personal"] = {SEALED: base64.b64encode(nonce + sealed).decode()}
        return StoredEvent(
            originator_id=stored.originator_id,
            originator_version=stored.originator_version,
            topic=stored.topic,
            state=self.transcoder.encode(state),
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        event = super().to_domain_event(stored_event)
        personal = getattr(event, "personal", None)
        if isinstance(personal, dict) and SEALED in personal:
            opened = self._open(stored_event, base64.b64decode(personal[SEALED]))
            object.__setattr__(event, "personal", opened)
        return event

    def _open(self, stored: StoredEvent, sealed: bytes) -> dict[str, Any] | None:
        key = self.vault.data_key(_originator(stored))
        if key is None:
            return None  # crypto-shredded
        try:
            plaintext = AESGCM(key).decrypt(
                sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], _associated_data(stored)
            )
        except InvalidTag:
            raise BrokenSealError(
                f"personal data of event {stored.originator_version} of {stored.originator_id} "
                "does not open with its customer's key: the stored event was altered"
            ) from None
        opened: dict[str, Any] = self.transcoder.decode(plaintext)
        return opened


class BrokenSealError(ValueError):
    """Sealed personal data that its customer's existing key cannot open."""


def _originator(stored: StoredEvent) -> UUID:
    originator = stored.originator_id
    assert isinstance(originator, UUID)
    return originator


def _associated_data(stored: StoredEvent) -> bytes:
    return (
        _originator(stored).bytes
        + stored.originator_version.to_bytes(8, "big")
        + stored.topic.encode()
    )
