"""Gives customers registered before keyed identity ids their keyed ids (`glow keys
rekey-identities`, once after upgrading): each old id (a uuid5 anyone can compute from the
contact) is released and unlinked, the keyed id of the same contact claimed and linked.

Old ids are recognised by recomputing them from the contacts the customers still hold (their
own and those merged into them); a forgotten customer holds none, so their old ids, already in
the immutable log, stay as they are: the API masks them, and only stores made before keyed
ids have them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from domain import customer_commands as c
from domain.customer import Customer
from domain.errors import InvalidContactError
from domain.trace import Trace
from privacy.contacts import normalise_email, normalise_phone
from privacy.pseudonyms import Pseudonyms, legacy_identity_id
from service_layer.customer_desk import CustomerDesk

Contact = tuple[str, str]  # (kind, normalised key)


@dataclass(frozen=True)
class Rekeyed:
    customers: int
    identities: int
    left: int  # old ids whose contact the ledger no longer holds (forgotten, or changed)


def rekey_identities(desk: CustomerDesk, pseudonyms: Pseudonyms) -> Rekeyed:
    everyone = desk.all_customers()
    known = {legacy_identity_id(*contact): contact for p in everyone for contact in _contacts(p)}
    trace = Trace("backoffice", "glow keys rekey-identities", datetime.now(tz=UTC))
    customers = identities = left = 0
    for person in everyone:
        old = [UUID(key) for key in person.identities if UUID(key).version == 5]
        claims = tuple(_claim(pseudonyms, key, known[key]) for key in old if key in known)
        left += len(old) - len(claims)
        if claims and person.merged_into is None and not person.forgotten:
            desk.execute(c.RekeyIdentities(person.id, claims, trace))
            customers, identities = customers + 1, identities + len(claims)
    return Rekeyed(customers, identities, left)


def _claim(pseudonyms: Pseudonyms, legacy: UUID, contact: Contact) -> c.IdentityClaim:
    return c.IdentityClaim(contact[0], pseudonyms.identity_id(*contact), legacy)


def _contacts(person: Customer) -> list[Contact]:
    found = []
    for kind, normalise in (("email", normalise_email), ("phone", normalise_phone)):
        raw = person.contact.get(kind)
        try:
            found += [(kind, normalise(raw))] if isinstance(raw, str) else []
        except InvalidContactError:
            continue
    return found
