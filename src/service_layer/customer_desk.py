"""Runs customer commands one at a time: load, decide, save atomically with the answer kept for
the idempotency key, retry on a concurrent write; then destroy the keys of the forgotten.

Customer commands are few (people, not tills), so there is no group commit here.
"""

from __future__ import annotations

import threading
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from domain.customer import Customer
from domain.customer_commands import CustomerCommand, ForgetCustomer
from domain.customer_handlers import MAX_MERGE_HOPS, handle_customer
from domain.errors import ConcurrencyConflictError, UnknownCustomerError
from service_layer.command_writer import Outcome, answer_store, replay
from service_layer.customer_store import SealedCustomerLedger
from storage.command_answers import CommandAnswer
from storage.recorders import ANSWERS

MAX_MERGED = 100  # customers merged into one person; a bound, not a rule


class LedgerUnitOfWork:
    """The UnitOfWork a customer handler sees: aggregates loaded fresh from the store."""

    def __init__(self, ledger: SealedCustomerLedger) -> None:
        self._ledger = ledger
        self.touched: dict[UUID, Aggregate] = {}

    def find(self, aggregate_id: UUID) -> Aggregate | None:
        if aggregate_id not in self.touched:
            found = self._load(aggregate_id)
            if found is None:
                return None
            self.touched[aggregate_id] = found
        return self.touched[aggregate_id]

    view = find

    def is_new(self, aggregate_id: UUID) -> bool:
        return aggregate_id not in self.touched and self._load(aggregate_id) is None

    def add(self, aggregate: Aggregate) -> None:
        self.touched[aggregate.id] = aggregate

    def _load(self, aggregate_id: UUID) -> Aggregate | None:
        try:
            found: Aggregate = self._ledger.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return found


class CustomerDesk:
    def __init__(self, ledger: SealedCustomerLedger, max_attempts: int = 5) -> None:
        self.ledger = ledger
        self.max_attempts = max_attempts
        self._lock = threading.Lock()

    def execute(
        self, command: CustomerCommand, idempotency_key: str | None = None, fingerprint: str = ""
    ) -> Outcome:
        with self._lock:
            outcome = self._decide_and_save(command, idempotency_key, fingerprint)
        if isinstance(command, ForgetCustomer):
            for customer_id in outcome.body.get("forgotten", []):
                self.ledger.vault.destroy(UUID(customer_id))  # a replay destroys them again
        return outcome

    def customer(self, customer_id: UUID) -> Customer:
        """The customer as stored, following merges to the survivor."""
        for _ in range(MAX_MERGE_HOPS):
            found = LedgerUnitOfWork(self.ledger).find(customer_id)
            if not isinstance(found, Customer):
                break
            if found.merged_into is None:
                return found
            customer_id = found.merged_into
        raise UnknownCustomerError(f"no customer {customer_id}", customer_id=str(customer_id))

    def recall_notice(self, customer_id: str) -> dict[str, Any]:
        """Whether a customer named by a sale can be told of a safety recall, and how.

        A safety notice is owed, not marketing: it needs no marketing consent. A forgotten
        customer cannot be reached and is reported as such; no contact detail is returned."""
        try:
            customer = self.customer(UUID(customer_id))
        except (ValueError, UnknownCustomerError):
            return {"status": "unknown", "notify": False, "reachable_by": []}
        if customer.forgotten:
            return {"status": "forgotten", "notify": False, "reachable_by": []}
        reachable = [name for name in ("email", "phone") if customer.contact.get(name)]
        return {
            "status": "active",
            "notify": bool(reachable),
            "reachable_by": reachable,
            "notify_as": str(customer.id),  # the survivor, if the customer was merged
        }

    def all_customers(self) -> list[Customer]:
        """Every customer, read from the notification log (a scan: for merge proposals)."""
        ids: list[UUID] = []
        start = 1
        while True:
            page = self.ledger.recorder.select_notifications(start, 1000)
            ids += [
                UUID(str(n.originator_id)) for n in page if n.topic.endswith("Customer.Registered")
            ]
            if len(page) < 1000:
                break
            start = page[-1].id + 1
        found = [LedgerUnitOfWork(self.ledger).find(customer_id) for customer_id in ids]
        return [customer for customer in found if isinstance(customer, Customer)]

    def merged_from(self, customer: Customer) -> list[Customer]:
        """Every customer merged into this one, directly or through another (same person)."""
        found: dict[UUID, Customer] = {}
        waiting = list(customer.absorbed)
        while waiting and len(found) < MAX_MERGED:
            aggregate_id = waiting.pop()
            source = LedgerUnitOfWork(self.ledger).find(aggregate_id)
            if isinstance(source, Customer) and aggregate_id not in found:
                found[aggregate_id] = source
                waiting += source.absorbed
        return list(found.values())

    def history(self, customer: Customer) -> list[Any]:
        """Every event of the customer and of those merged into them, oldest first."""
        ids = [customer.id, *customer.absorbed]
        events = [event for aggregate_id in ids for event in self.ledger.events.get(aggregate_id)]
        return sorted(events, key=lambda event: event.timestamp)

    def _decide_and_save(
        self, command: CustomerCommand, key: str | None, fingerprint: str
    ) -> Outcome:
        answers = answer_store(self.ledger)
        for _ in range(self.max_attempts):
            uow = LedgerUnitOfWork(self.ledger)
            if key is not None:
                known = answers.select_answer(key)
                if known is not None:
                    return replay(known, fingerprint)
            result = handle_customer(command, uow)
            events = [e for aggregate in uow.touched.values() for e in aggregate.collect_events()]
            kept = [CommandAnswer(key, fingerprint, result.body, result.created)] if key else []
            try:
                # The answer commits with the events, as the inventory's writer does it.
                self.ledger.events.put(events, **{ANSWERS: kept})
            except IntegrityError:
                continue
            return Outcome(result.body, result.created)
        raise ConcurrencyConflictError(
            f"other writers changed the same customer {self.max_attempts} times in a row; "
            "retry with the same idempotency key",
            attempts=self.max_attempts,
        )
