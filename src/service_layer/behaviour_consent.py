"""Whether a customer consents to analytics right now, read fresh from the customer ledger at
every ingestion (never cached: a withdrawal stops identified collection at once), and their
behaviour pseudonym (cached: it never changes while their key exists).

The read takes the customer's stored events and decodes only the consent, merge and forget
events, none of which is sealed: loading the aggregate would unseal every event's personal
data with the customer's key for nothing (measured in the README's Behaviour section)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from privacy.pseudonyms import behaviour_person
from service_layer.customer_store import SealedCustomerLedger

ANALYTICS = "analytics"
GRANTED, WITHDRAWN = "Customer.ConsentGranted", "Customer.ConsentWithdrawn"
MERGED, FORGOTTEN = "Customer.MergedInto", "Customer.Forgotten"
MAX_MERGE_HOPS = 10
PSEUDONYMS_KEPT = 100_000


@dataclass(frozen=True)
class Collection:
    """What may be collected about a customer named by an event, as of this read."""

    customer_id: str  # the survivor's id when the named one was merged
    person: str | None  # their pseudonym if they consent to analytics, else None
    fresh_person: bool = False  # first seen by this process: link it in behaviour_people


class ConsentReader:
    def __init__(self, ledger: SealedCustomerLedger) -> None:
        self.ledger = ledger
        self._people: OrderedDict[UUID, str] = OrderedDict()
        self._lock = threading.Lock()

    def collection(self, customer_id: UUID) -> Collection:
        survivor, consents = self._consents(customer_id)
        if survivor is None or not consents:
            return Collection(str(customer_id), None)
        with self._lock:
            person = self._people.get(survivor)
        if person is not None:
            return Collection(str(survivor), person)
        key = self.ledger.vault.data_key(survivor)
        if key is None:  # shredded: the customer is forgotten
            return Collection(str(survivor), None)
        person = behaviour_person(key)
        with self._lock:
            self._people[survivor] = person
            while len(self._people) > PSEUDONYMS_KEPT:
                self._people.popitem(last=False)
        return Collection(str(survivor), person, fresh_person=True)

    def _consents(self, customer_id: UUID) -> tuple[UUID | None, bool]:
        """(the survivor, whether it consents to analytics now); (None, False) for an unknown
        or forgotten customer."""
        current = customer_id
        for _ in range(MAX_MERGE_HOPS):
            stored = self.ledger.recorder.select_events(current)
            if not stored:
                return None, False
            granted, merged_into = False, None
            for event in stored:
                kind = event.topic.rsplit(":", 1)[-1]
                if kind == FORGOTTEN:
                    return None, False
                if kind in (GRANTED, WITHDRAWN):
                    if self._state(event.state).get("purpose") == ANALYTICS:
                        granted = kind == GRANTED
                elif kind == MERGED:
                    merged_into = UUID(str(self._state(event.state)["target_id"]))
            if merged_into is None:
                return current, granted
            current = merged_into
        return None, False

    def _state(self, state: bytes) -> dict[str, Any]:
        decoded: dict[str, Any] = self.ledger.mapper.transcoder.decode(state)
        return decoded
