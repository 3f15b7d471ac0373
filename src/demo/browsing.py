"""Synthetic browsing for the demo business, as ingestion would write it to ClickHouse: before
many purchases the customer viewed the product (and compared others of its category), some put
it in the cart; a share of it happened on a device before login (an anonymous id stitched to
the person), and a shared device's browsing is stitched to two people. Deterministic for a seed.

What it is for: measuring whether behaviour read as implicit signals helps the recommender to
predict later purchases (it can only if browsing precedes buying, as it does here)."""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from demo.business import Business, DemoProduct
from projections.behaviour_rows import EVENT_COLUMNS as BEHAVIOUR_COLUMNS
from recommender.signals import PURCHASE

EVENT_COLUMNS = tuple(c for c in BEHAVIOUR_COLUMNS if c != "violation")  # unflagged rows
LINK_COLUMNS = ("person", "linked_at")


@dataclass
class Browsing:
    events: list[tuple[Any, ...]] = field(default_factory=list)  # EVENT_COLUMNS
    people: list[tuple[str, str, datetime]] = field(default_factory=list)  # customer, person
    identities: list[tuple[str, str, datetime]] = field(default_factory=list)  # anonymous id

    def person(self, customer_id: str) -> str:
        return next(p for c, p, _ in self.people if c == customer_id)


def pseudonym(seed: int, customer_id: str) -> str:
    """A stand-in for the behaviour pseudonym (ingestion derives it from the data key)."""
    return hashlib.sha256(f"{seed}:{customer_id}".encode()).hexdigest()[:32]


def browse(
    business: Business,
    seed: int = 11,
    before_purchase: float = 0.6,
    comparisons: int = 2,
    cart: float = 0.4,
    anonymous: float = 0.3,
) -> Browsing:
    rng = random.Random(seed)
    out = Browsing()
    by_category: dict[str, list[DemoProduct]] = {}
    for product in business.products.values():
        by_category.setdefault(product.facts.category, []).append(product)
    devices: dict[str, str] = {}
    for cid in sorted(business.customers):
        person = pseudonym(seed, cid)
        out.people.append((cid, person, business.start))
        devices[cid] = f"anon-{uuid.UUID(int=rng.getrandbits(128))}"
        out.identities.append((devices[cid], person, business.start))
    shared = devices[sorted(business.customers)[0]]  # one device two people log in on
    out.identities.append((shared, pseudonym(seed, sorted(business.customers)[1]), business.end))
    for h in business.happenings:
        if h.kind != PURCHASE or rng.random() >= before_purchase:
            continue
        person = pseudonym(seed, h.customer_id)
        product = business.products[h.product_code]
        alternatives = by_category[product.facts.category]
        viewed = [product] + [rng.choice(alternatives) for _ in range(comparisons)]
        for seen in viewed:
            at = h.at - timedelta(days=rng.uniform(0.2, 21))
            out.events.append(
                _event(rng, at, "product_viewed", person, devices, h, seen, anonymous)
            )
        if rng.random() < cart:
            at = h.at - timedelta(hours=rng.uniform(0.1, 48))
            event = "product_added_to_cart"
            out.events.append(_event(rng, at, event, person, devices, h, product, anonymous))
    out.events.sort(key=lambda e: e[1])
    return out


def _event(
    rng: random.Random,
    at: datetime,
    event: str,
    person: str,
    devices: dict[str, str],
    h: Any,
    product: DemoProduct,
    anonymous: float,
) -> tuple[Any, ...]:
    sku = rng.choice(product.facts.skus)
    before_login = rng.random() < anonymous
    anonymous_id = devices[h.customer_id] if before_login else ""
    who = "" if before_login else person
    event_id = uuid.UUID(int=rng.getrandbits(128))
    return (event_id, at, at, event, h.channel, who, anonymous_id, sku, "{}")


def insert(client: Any, browsing: Browsing) -> None:
    """Into the behaviour tables of ClickHouse (as ingestion made them)."""
    client.insert("behaviour_events", browsing.events, list(EVENT_COLUMNS))
    client.insert("behaviour_people", browsing.people, ["customer_id", *LINK_COLUMNS])
    client.insert("behaviour_identities", browsing.identities, ["anonymous_id", *LINK_COLUMNS])
