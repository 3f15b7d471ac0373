"""The event logs as the recommender reads them: the inventory fold (continued from a saved
one) and the customer ledger (read whole), and the signals they make with recent behaviour
as of some moment."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

from recommender.behaviour_signals import NOTHING, BehaviourRead, BehaviourSource
from recommender.customer_signals import CustomerFold, attributed, read_customers
from recommender.inventory_signals import InventoryFold, read_inventory
from recommender.signals import LogSignals


@dataclass(frozen=True)
class LogRead:
    """What the event logs yield, before recent behaviour is added as of some moment."""

    fold: InventoryFold
    people: CustomerFold
    new: int  # interactions read from the inventory log in this run

    def signals(
        self, behaviour: BehaviourSource | None = None, until: datetime | None = None
    ) -> tuple[LogSignals, BehaviourRead]:
        """The signals, with the behaviour of the window before `until` when a source is
        given: only of customers who may be personalised (a merged customer's under the
        survivor's consent and id, as their purchases)."""
        implicit = NOTHING
        if behaviour is not None and until is not None:
            implicit = behaviour.read(self.personalised(), self.fold.sku_products, until)
        interactions = [*self.fold.interactions, *self.people.interactions, *implicit.interactions]
        signals = LogSignals(
            products=self.fold.product_facts(),
            customers=self.people.customers,
            interactions=attributed(interactions, self.people),
            sku_products=dict(self.fold.sku_products),
            position=self.fold.position,
            sku_prices=self.fold.prices(),
        )
        return signals, implicit

    def personalised(self) -> list[str]:
        customers = self.people.customers
        return [
            cid
            for cid, facts in customers.items()
            if not facts.forgotten
            and (survivor := customers.get(self.people.survivor(cid))) is not None
            and survivor.may_personalise
        ]


def read_sources(
    inventory: Application[UUID], customers: Application[Any], previous: InventoryFold | None
) -> LogRead:
    earlier = previous.interactions if previous else []
    fold = read_inventory(inventory, previous)
    new = len(fold.interactions)
    fold = replace(fold, interactions=[*earlier, *fold.interactions])
    return LogRead(fold, read_customers(customers, fold.sku_products), new)
