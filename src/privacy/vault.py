"""Per-customer data keys: made on first use, wrapped by the master key, destroyed on forget;
and the ledger's own secret (for keyed pseudonyms), kept the same way under a reserved id."""

from __future__ import annotations

import os
from dataclasses import dataclass
from uuid import UUID

from privacy.key_stores import KeyStore
from privacy.master_keys import MasterKeys

# The key-store row of the ledger's secret: no customer has this id (customers get uuid4 ids).
LEDGER_SECRET_ID = UUID("00000000-0000-8000-8000-6c6564676572")


@dataclass
class KeyVault:
    store: KeyStore
    masters: MasterKeys

    def data_key(self, customer_id: UUID) -> bytes | None:
        """The customer's key, or None once it has been destroyed (or never existed)."""
        stored = self.store.get(customer_id)
        return None if stored is None else self.masters.unwrap(customer_id, *stored)

    def data_key_for_writing(self, customer_id: UUID) -> bytes:
        new = self.masters.wrap(customer_id, os.urandom(32))
        stored = self.store.put_if_absent(customer_id, new)
        return self.masters.unwrap(customer_id, *stored)

    def ledger_secret(self) -> bytes:
        """Made once per ledger (race-safe), re-wrapped by `rotate` like any data key."""
        return self.data_key_for_writing(LEDGER_SECRET_ID)

    def destroy(self, customer_id: UUID) -> None:
        if customer_id == LEDGER_SECRET_ID:
            raise ValueError("the ledger's secret is not a customer's key: it is never destroyed")
        self.store.delete(customer_id)

    def purge(self) -> bool:
        """Leave no copy of a destroyed key in the store's files (see KeyStore.purge)."""
        return self.store.purge()

    def rotate(self) -> int:
        """Re-wrap every data key (and the ledger's secret) still under a previous master key;
        returns how many."""
        rewrapped = 0
        for customer_id, old in self.store.wrapped_by_others(self.masters.current_id):
            data_key = self.masters.unwrap(customer_id, *old)
            if self.store.replace(customer_id, old, self.masters.wrap(customer_id, data_key)):
                rewrapped += 1
        return rewrapped
