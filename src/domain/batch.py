"""A batch (lot) of one SKU at one location: its expiry and its quantities."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

ACTIVE = "active"
QUARANTINED = "quarantined"
RECALLED = "recalled"


@dataclass
class Batch:
    """Mutable per-batch counts inside a Stock aggregate; changed only by its events' apply."""

    number: str
    expiry: date
    on_hand: int = 0
    reserved: int = 0
    status: str = ACTIVE

    def is_expired(self, today: date) -> bool:
        return self.expiry < today

    def is_sellable(self, today: date) -> bool:
        return self.status == ACTIVE and not self.is_expired(today)

    def unreserved(self) -> int:
        return self.on_hand - self.reserved

    def available(self, today: date) -> int:
        return self.unreserved() if self.is_sellable(today) else 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "expiry": self.expiry.isoformat(),
            "on_hand": self.on_hand,
            "reserved": self.reserved,
            "status": self.status,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Batch:
        return cls(
            number=data["number"],
            expiry=date.fromisoformat(data["expiry"]),
            on_hand=data["on_hand"],
            reserved=data["reserved"],
            status=data["status"],
        )


def allocate_fefo(batches: list[Batch], quantity: int, today: date) -> dict[str, int]:
    """First-expired-first-out over sellable batches; raises nothing, returns what it could take.

    The caller compares the allocated total with what it asked for.
    """
    allocation: dict[str, int] = {}
    remaining = quantity
    for batch in sorted(batches, key=lambda b: (b.expiry, b.number)):
        if remaining == 0:
            break
        take = min(batch.available(today), remaining)
        if take > 0:
            allocation[batch.number] = take
            remaining -= take
    return allocation
