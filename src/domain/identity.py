"""An identity key (a normalised email or phone) and the customer it currently identifies.

Its id is a keyed pseudonym of the normalised key (HMAC under the ledger's secret, made by the
API: privacy.pseudonyms), so a second registration with the same email finds the same key
without a lookup table, and nobody without the secret can compute it from a guessed contact;
the key itself is never stored, only its id.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate

IDENTITY_KINDS = frozenset({"email", "phone"})


class IdentityKey(Aggregate):
    class Claimed(Aggregate.Created):
        kind: str
        customer_id: UUID

    class Repointed(Aggregate.Event):
        """The customer was merged into another: the key now names the survivor."""

        customer_id: UUID

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, IdentityKey)
            aggregate.customer_id = self.customer_id

    class Released(Aggregate.Event):
        """The customer was forgotten or changed this contact: the key is free again."""

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, IdentityKey)
            aggregate.customer_id = None

    def __init__(self, kind: str, customer_id: UUID) -> None:
        self.kind = kind
        self.customer_id: UUID | None = customer_id

    @classmethod
    def claim(cls, key_id: UUID, kind: str, customer_id: UUID) -> IdentityKey:
        return cls._create(cls.Claimed, id=key_id, kind=kind, customer_id=customer_id)

    def reclaim(self, customer_id: UUID) -> None:
        if self.customer_id != customer_id:
            self.trigger_event(self.Repointed, customer_id=customer_id)

    def release(self) -> None:
        if self.customer_id is not None:
            self.trigger_event(self.Released)
