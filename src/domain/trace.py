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

    `trace_id` names the OpenTelemetry trace of the request that made it (32 hex digits, W3C
    Trace Context), so an auditor can go from an event to that request's spans and log lines;
    `span_id` (16 hex digits) is the request's span in it, recorded only when the trace was
    sampled, so that the relay and the read models continue that trace. Both are None when
    tracing was off, and in events recorded before the ledger traced: they are written only
    when set, so such events are stored exactly as before.
    """

    channel: str
    principal: str
    occurred_at: datetime
    idempotency_key: str | None = None
    source_ref: str | None = None
    reason: str | None = None
    customer_id: str | None = None  # the customer a sale, reservation or return was for
    trace_id: str | None = None  # the request's trace (OpenTelemetry), when traced
    span_id: str | None = None  # the request's span in it, when that trace was sampled

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "channel": self.channel,
            "principal": self.principal,
            "occurred_at": self.occurred_at,
            "idempotency_key": self.idempotency_key,
            "source_ref": self.source_ref,
            "reason": self.reason,
            "customer_id": self.customer_id,
        }
        if self.trace_id is not None:
            data["trace_id"] = self.trace_id
            if self.span_id is not None:
                data["span_id"] = self.span_id
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trace:
        return cls(**data)

    def traced(self, trace_id: str | None, span_id: str | None) -> Trace:
        """In the trace `trace_id` (and its span `span_id`), or as it is when None."""
        if trace_id is None:
            return self
        return replace(self, trace_id=trace_id, span_id=span_id)

    def at(self, occurred_at: datetime) -> Trace:
        return replace(self, occurred_at=occurred_at)

    def for_customer(self, customer_id: str | None) -> Trace:
        """Naming the customer it was for, unless it names one already."""
        if self.customer_id is not None or customer_id is None:
            return self
        return replace(self, customer_id=customer_id)
