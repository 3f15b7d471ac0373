"""What was sold at one shelf (a SKU at a location) and may still come back.

A channel may take back only what it sold: per batch, and per customer when the return names
one, up to the units sold and not yet returned. The book is immutable: every sale or return
makes a new one, so a command deciding on a copy of the stock shares it without copying."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from domain.errors import ReturnExceedsSaleError
from domain.trace import Trace


@dataclass(frozen=True)
class ReturnBook:
    by_batch: Mapping[str, int] = field(default_factory=dict)
    by_customer: Mapping[str, int] = field(default_factory=dict)  # "customer/batch"

    def returnable(self, batch: str, customer_id: str | None) -> int:
        left = self.by_batch.get(batch, 0)
        if customer_id is None:
            return left
        return min(left, self.by_customer.get(_key(customer_id, batch), 0))

    def require_returnable(
        self, sku: str, location: str, batch: str, quantity: int, trace: Trace
    ) -> None:
        left = self.returnable(batch, trace.customer_id)
        if quantity <= left:
            return
        whom = " to that customer" if trace.customer_id else ""
        raise ReturnExceedsSaleError(
            f"only {left} unit(s) of batch {batch!r} of {sku} sold at {location}{whom} can "
            f"still be returned, {quantity} requested; a return not linked to a sale here is "
            "taken by the back office with a reason",
            sku=sku,
            location=location,
            batch=batch,
            requested=quantity,
            returnable=left,
        )

    def sold(self, allocations: Mapping[str, int], customer_id: str | None) -> ReturnBook:
        by_batch = dict(self.by_batch)
        for number, quantity in allocations.items():
            by_batch[number] = by_batch.get(number, 0) + quantity
        if customer_id is None:
            return ReturnBook(by_batch, self.by_customer)
        by_customer = dict(self.by_customer)
        for number, quantity in allocations.items():
            key = _key(customer_id, number)
            by_customer[key] = by_customer.get(key, 0) + quantity
        return ReturnBook(by_batch, by_customer)

    def returned(self, batch: str, quantity: int, customer_id: str | None) -> ReturnBook:
        by_batch = _less(self.by_batch, batch, quantity)
        if customer_id is None:
            return ReturnBook(by_batch, self.by_customer)
        return ReturnBook(by_batch, _less(self.by_customer, _key(customer_id, batch), quantity))

    def as_dict(self) -> dict[str, Any]:
        return {"by_batch": dict(self.by_batch), "by_customer": dict(self.by_customer)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReturnBook:
        return cls(dict(data["by_batch"]), dict(data["by_customer"]))


def _key(customer_id: str, batch: str) -> str:
    return f"{customer_id}/{batch}"


def _less(counts: Mapping[str, int], key: str, quantity: int) -> dict[str, int]:
    """An unlinked return may bring back more than was sold: the count stops at none."""
    left = dict(counts)
    remaining = left.pop(key, 0) - quantity
    if remaining > 0:
        left[key] = remaining
    return left
