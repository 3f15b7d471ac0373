"""The customer ledger as the recommender may see it: per customer the skin profile, allergies,
preferences and the `personalisation` consent, plus ratings and wishlist as interactions.

Personal facts come unsealed from the ledger's mapper; a forgotten customer's come back as None
(their key is gone) and the `Forgotten` event marks them: they get no profile and no
personal model, and their interactions are dropped by `LogSignals.consented()`. A customer merged
into another contributes their history under the survivor's id."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from eventsourcing.application import Application

from domain.customer import Customer
from recommender.signals import (
    FRAGRANCE_FREE,
    RATING,
    WISHLIST,
    CustomerFacts,
    Interaction,
    SafetyFacts,
)

PERSONALISATION = "personalisation"
PAGE = 1000


@dataclass
class CustomerFold:
    customers: dict[str, CustomerFacts] = field(default_factory=dict)
    interactions: list[Interaction] = field(default_factory=list)
    merged_into: dict[str, str] = field(default_factory=dict)
    position: int = 0

    def take(self, event: Any, sku_products: dict[str, str]) -> None:
        if not type(event).__qualname__.startswith("Customer."):
            return  # identity keys and other aggregates of the customer ledger
        cid = str(event.originator_id)
        facts = self.customers.get(cid) or CustomerFacts(cid)
        self.customers[cid] = _changed(facts, event)
        at = event.trace.occurred_at
        if isinstance(event, Customer.FeedbackGiven) and event.sku in sku_products:
            self.interactions.append(
                Interaction(cid, sku_products[event.sku], RATING, at, float(event.rating))
            )
        elif isinstance(event, Customer.WishlistItemAdded) and event.sku in sku_products:
            self.interactions.append(Interaction(cid, sku_products[event.sku], WISHLIST, at))
        elif isinstance(event, Customer.MergedInto):
            self.merged_into[cid] = str(event.target_id)

    def survivor(self, customer_id: str) -> str:
        seen = {customer_id}
        while customer_id in self.merged_into and self.merged_into[customer_id] not in seen:
            customer_id = self.merged_into[customer_id]
            seen.add(customer_id)
        return customer_id


def _changed(facts: CustomerFacts, event: Any) -> CustomerFacts:
    personal = getattr(event, "personal", None)
    if isinstance(event, Customer.SkinProfileChanged):
        skin = personal or {}
        return replace(
            facts,
            skin_type=skin.get("skin_type"),
            concerns=tuple(skin.get("concerns") or ()),
            allergies=tuple(skin.get("allergies") or ()),
        )
    if isinstance(event, Customer.PreferencesChanged):
        chosen = tuple(sorted(k for k, v in (personal or {}).items() if v))
        return replace(facts, preferences=chosen)
    if (
        isinstance(event, Customer.ConsentGranted | Customer.ConsentWithdrawn)
        and event.purpose == PERSONALISATION
    ):
        return replace(facts, personalisation=isinstance(event, Customer.ConsentGranted))
    if isinstance(event, Customer.Forgotten):
        return CustomerFacts(facts.customer_id, forgotten=True)
    if isinstance(event, Customer.MergedInto):
        return replace(facts, personalisation=False)
    return facts


def read_customers(
    ledger: Application[Any], sku_products: dict[str, str], start: int = 1
) -> CustomerFold:
    """Every customer event from `start` on, folded. Customers' histories are short and are
    always read whole: a withdrawal or a forget must reach every model trained afterwards."""
    fold = CustomerFold()
    for position, event in customer_events(ledger, start):
        fold.take(event, sku_products)
        fold.position = position
    return fold


def customer_events(ledger: Application[Any], start: int) -> Iterator[tuple[int, Any]]:
    """Every event of the customer log from `start`, with its position."""
    while True:
        page = ledger.recorder.select_notifications(start, PAGE)
        for notification in page:
            yield notification.id, ledger.mapper.to_domain_event(notification)
        if len(page) < PAGE:
            return
        start = page[-1].id + 1


def attributed(interactions: Iterable[Interaction], fold: CustomerFold) -> list[Interaction]:
    """Interactions under the surviving customer's id when customers were merged."""
    return [replace(i, customer_id=fold.survivor(i.customer_id)) for i in interactions]


def facts_of(customer: Customer, merged_from: Iterable[Customer] = ()) -> CustomerFacts:
    """A customer as stored now, for a request (consent and profile are read live). Without
    the personalisation consent only the safety facts are taken: they protect on every list.
    The safety facts of customers merged into this one (the same person) protect too."""
    consented = customer.has_consent(PERSONALISATION) and not customer.forgotten
    safety = _safety(customer, *merged_from)
    if not consented:
        preferences = (FRAGRANCE_FREE,) if safety.fragrance_free else ()
        return CustomerFacts(
            str(customer.id),
            allergies=safety.allergies,
            preferences=preferences,
            forgotten=customer.forgotten,
        )
    skin = customer.skin or {}
    chosen = {k for k, v in (customer.preferences or {}).items() if v}
    return CustomerFacts(
        str(customer.id),
        skin.get("skin_type"),
        tuple(skin.get("concerns") or ()),
        safety.allergies,
        tuple(sorted(chosen | ({FRAGRANCE_FREE} if safety.fragrance_free else set()))),
        personalisation=True,
    )


def _safety(*people: Customer) -> SafetyFacts:
    allergies: dict[str, None] = {}
    fragrance_free = False
    for person in people:
        if person.forgotten:
            continue
        allergies |= dict.fromkeys(str(a) for a in (person.skin or {}).get("allergies") or ())
        fragrance_free |= bool((person.preferences or {}).get(FRAGRANCE_FREE))
    return SafetyFacts(tuple(allergies), fragrance_free)
