"""Commands of replenishment: a policy set by the back office, a planning run's suggestions
and alerts for one location, and a suggestion accepted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.replenishment import PolicyTerms, SuggestionDraft
from domain.trace import Trace


@dataclass(frozen=True)
class SetReplenishmentPolicy:
    sku: str
    location: str
    terms: PolicyTerms
    trace: Trace


@dataclass(frozen=True)
class RecordReplenishmentPlan:
    """A run's suggestions for `location` (as the destination) and its alerts there; the
    open suggestions of earlier runs there are superseded."""

    location: str
    run_id: str
    suggestions: tuple[SuggestionDraft, ...]
    alerts: tuple[dict[str, Any], ...]
    trace: Trace


@dataclass(frozen=True)
class AcceptSuggestion:
    """Creates the expected shipment of a purchase or the transfer in transit of a transfer;
    `staff_of`: the caller's location when only staff there may accept (None: anywhere)."""

    suggestion_id: UUID
    trace: Trace
    staff_of: str | None = None


ReplenishmentCommand = SetReplenishmentPolicy | RecordReplenishmentPlan | AcceptSuggestion
