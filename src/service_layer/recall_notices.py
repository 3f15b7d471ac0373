"""Who a batch recall concerns: the orders that hold or received units of the batch, the
customers who bought it (through an order, a reservation or a till sale), per channel.

Consent-aware: a customer is *messaged* (their channel is told to contact them) only when they
can be reached on a contact route they consented to (email with `marketing_email`, phone with
`marketing_sms`); an active customer without such a consent is *listed for the store* where
they bought, to be told at the counter or by a letter; a forgotten or unknown customer is
counted, never named. Customers appear by their pseudonymous ids only: no contact detail."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from audit.batch_trace import trace_batch
from audit.errors import UnknownAggregateError
from domain.errors import UnknownCustomerError
from domain.ids import fulfilment_hold_id
from domain.ledger import InventoryLedger
from domain.order import Fulfilment, Order
from domain.order_sourcing import viewed
from service_layer.customer_desk import CustomerDesk
from service_layer.order_queries import LedgerViewer

PLACED_TOPIC = get_topic(Order.Placed)
PAGE = 500  # notifications read at a time while looking for the batch's orders
CONTACT_CONSENTS = {"email": "marketing_email", "phone": "marketing_sms"}
MESSAGE, STORE, UNREACHABLE = "message", "store", "unreachable"


def recall_notice(
    ledger: InventoryLedger, desk: CustomerDesk | None, sku: str, batch: str
) -> dict[str, Any]:
    affected = list(_orders_with_batch(ledger, sku, batch))
    buyers = [(o["channel"], o["customer_id"], o["location"]) for o in affected if o["customer_id"]]
    buyers += _other_buyers(ledger, sku, batch, {o["hold_id"] for o in affected})
    channels: dict[str, dict[str, Any]] = {}
    for order in affected:
        _channel(channels, order["channel"])["orders"].append(
            {k: order[k] for k in ("order_id", "status", "source_ref", "location")}
        )
    seen: set[tuple[str, str]] = set()
    for channel, customer_id, location in buyers:
        if (channel, customer_id) in seen:
            continue
        seen.add((channel, customer_id))
        _place(_channel(channels, channel), _reach(desk, customer_id), customer_id, location)
    return {"sku": sku, "batch": batch, "channels": [channels[c] for c in sorted(channels)]}


def _channel(channels: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    return channels.setdefault(
        name,
        {
            "channel": name,
            "orders": [],
            "customers_to_message": [],
            "customers_for_store": [],
            "unreachable_customers": 0,
        },
    )


def _place(entry: dict[str, Any], reach: tuple[str, str | None], customer: str, at: str) -> None:
    how, survivor = reach
    if how == MESSAGE:
        entry["customers_to_message"].append(survivor or customer)
    elif how == STORE:
        entry["customers_for_store"].append({"customer_id": survivor or customer, "location": at})
    else:
        entry["unreachable_customers"] += 1


def _reach(desk: CustomerDesk | None, customer_id: str) -> tuple[str, str | None]:
    """How the customer may be told, and their id (the survivor, if merged)."""
    if desk is None:
        return STORE, None
    try:
        customer = desk.customer(UUID(customer_id))
    except (ValueError, UnknownCustomerError):
        return UNREACHABLE, None
    if customer.forgotten:
        return UNREACHABLE, None
    consented = [
        route
        for route, purpose in CONTACT_CONSENTS.items()
        if customer.contact.get(route) and customer.has_consent(purpose)
    ]
    return (MESSAGE if consented else STORE), str(customer.id)


def _orders_with_batch(ledger: InventoryLedger, sku: str, batch: str) -> Iterator[dict[str, Any]]:
    """Orders with a fulfilment order that holds or handed over units of the batch (read by
    loading every order placed: a recall is rare, and the order view keeps no batches)."""
    viewer = LedgerViewer(ledger)
    position = 0
    while True:
        page = ledger.recorder.select_notifications(
            position, PAGE, topics=[PLACED_TOPIC], inclusive_of_start=False
        )
        for notification in page:
            position = notification.id
            found = viewed(viewer, UUID(str(notification.originator_id)), Order)
            if found is None:
                continue
            for fulfilment in found.fulfilments.values():
                if any(
                    item["sku"] == sku and item["batches"].get(batch) for item in fulfilment.lines
                ):
                    yield _affected(found, fulfilment)
        if len(page) < PAGE:
            return


def _affected(order: Order, fulfilment: Fulfilment) -> dict[str, Any]:
    return {
        "order_id": str(order.id),
        "status": order.status,
        "source_ref": order.source_ref,
        "location": fulfilment.location,
        "channel": order.channel,
        "customer_id": order.customer_id,
        "hold_id": str(fulfilment_hold_id(order.id, fulfilment.fulfilment_id)),
    }


def _other_buyers(
    ledger: InventoryLedger, sku: str, batch: str, order_holds: set[str]
) -> list[tuple[str, str, str]]:
    """(channel, customer, location) of sales of the batch outside orders: tills, reservations."""
    try:
        traced = trace_batch(ledger, sku, batch)
    except UnknownAggregateError:
        return []
    return [
        (sale["reserved_on_channel"] or sale["channel"], sale["customer_id"], sale["location"])
        for sale in traced["sales"]
        if sale["customer_id"] and sale["reservation_id"] not in order_holds
    ]
