"""Who asked for a change, why, from which document, and when it really happened."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Trace:
    """Traceability carried by every event.

    `occurred_at` is when it happened in the world (a till that was offline reports late);
    the event's own `timestamp` is when the ledger recorded it.
    """

    channel: str
    principal: str
    occurred_at: datetime
    idempotency_key: str | None = None
    source_ref: str | None = None
    reason: str | None = None
    customer_id: str | None = None  # the customer a sale, reservation or return was for

    def as_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "principal": self.principal,
            "occurred_at": self.occurred_at,
            "idempotency_key": self.idempotency_key,
            "source_ref": self.source_ref,
            "reason": self.reason,
            "customer_id": self.customer_id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trace:
        return cls(**data)

    def at(self, occurred_at: datetime) -> Trace:
        return replace(self, occurred_at=occurred_at)

    def for_customer(self, customer_id: str | None) -> Trace:
        """Naming the customer it was for, unless it names one already."""
        if self.customer_id is not None or customer_id is None:
            return self
        return replace(self, customer_id=customer_id)
