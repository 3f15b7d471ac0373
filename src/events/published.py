"""Which domain events are published, under which name, to which Kafka topic.

Every event of these aggregates is a published fact. Customer events come from the customer
ledger's own log (`customers_events`) and go to the `customer` topic; the relay and the
drivers follow that log beside the inventory log, each with a position of its own. The
LocationDirectory (an index of location codes, which Location.Registered already tells) is
bookkeeping of the write side: never published, never projected. (Idempotency answers are
not events at all: see storage/recorders.py.)
"""

from __future__ import annotations

import functools

from eventsourcing.domain import Aggregate

from domain.catalog import Product, Sku
from domain.channel_rules import SalesChannel
from domain.customer import Customer
from domain.kits import Kit
from domain.location import Location
from domain.order import Order
from domain.preorders import Preorder, PreorderSwitch
from domain.replenishment import ReplenishmentBook, ReplenishmentPolicy, Suggestion
from domain.reservation import Reservation
from domain.stock import Stock
from domain.tills import ReconciliationPolicy, Till
from domain.unmet_demand import UnmetDemand

INVENTORY_TOPIC = "inventory"
CATALOG_TOPIC = "catalog"
CUSTOMER_TOPIC = "customer"
ORDER_TOPIC = "orders"
KAFKA_TOPICS = (INVENTORY_TOPIC, CATALOG_TOPIC, CUSTOMER_TOPIC, ORDER_TOPIC)

AGGREGATE_TOPICS: dict[type[Aggregate], str] = {
    Stock: INVENTORY_TOPIC,
    Reservation: INVENTORY_TOPIC,
    Preorder: INVENTORY_TOPIC,
    PreorderSwitch: INVENTORY_TOPIC,
    Product: CATALOG_TOPIC,
    Sku: CATALOG_TOPIC,
    Location: CATALOG_TOPIC,
    # Orders carry no personal data: the customer's id stays in the trace, which is not
    # published; a delivery is coordinates or a pickup store, never an address.
    Order: ORDER_TOPIC,
    SalesChannel: CATALOG_TOPIC,
    Kit: CATALOG_TOPIC,
    Till: INVENTORY_TOPIC,
    ReconciliationPolicy: INVENTORY_TOPIC,
    # Demand refused for lack of stock (domain/unmet_demand.py): a SKU, a location and units;
    # its trace never names the customer.
    UnmetDemand: INVENTORY_TOPIC,
    # Replenishment: policies, suggestions with their inputs and reasons, and each location's
    # book (its runs' alerts reach the webhooks: service_layer/webhook_derivation.py).
    ReplenishmentPolicy: INVENTORY_TOPIC,
    Suggestion: INVENTORY_TOPIC,
    ReplenishmentBook: INVENTORY_TOPIC,
    # The customer ledger's own log (customers_events), relayed with its own position: no
    # `personal` member, no contact ids, no principal (events/envelope.py). Its identity index
    # aggregates are bookkeeping of the write side and never published.
    Customer: CUSTOMER_TOPIC,
}

# Raise an event type's number when its payload changes shape; the old contract stays committed.
SCHEMA_VERSIONS: dict[str, int] = {}


_GENERATED = frozenset({"Event", "Created"})  # base classes eventsourcing adds


def _published_events() -> dict[str, type[Aggregate.Event]]:
    found: dict[str, type[Aggregate.Event]] = {}
    for aggregate in AGGREGATE_TOPICS:
        events = {
            name: member
            for name, member in vars(aggregate).items()
            if isinstance(member, type)
            and issubclass(member, Aggregate.Event)
            and name not in _GENERATED
        }
        # A base the aggregate's own events share (Order.FulfilmentProgressed) is never written.
        bases = {base for member in events.values() for base in member.__mro__[1:]}
        for name, member in events.items():
            if member not in bases:
                found[f"{aggregate.__name__}.{name}"] = member
    return dict(sorted(found.items()))


PUBLISHED_EVENTS: dict[str, type[Aggregate.Event]] = _published_events()
EVENT_TOPICS: dict[str, str] = {
    name: AGGREGATE_TOPICS[aggregate]
    for aggregate in AGGREGATE_TOPICS
    for name in PUBLISHED_EVENTS
    if name.split(".")[0] == aggregate.__name__
}


def schema_version(event_type: str) -> int:
    return SCHEMA_VERSIONS.get(event_type, 1)


@functools.cache  # called for every row read; there are few topics
def event_type_of(stored_topic: str) -> str | None:
    """`domain.stock:Stock.Sold` -> `Stock.Sold`; None for events that are not published."""
    name = stored_topic.rpartition(":")[2]
    return name if name in PUBLISHED_EVENTS else None
