"""Reads of tills from the ledger's aggregates: a till (to check an upload before it
starts) and the reconciliation report of one of its journals."""

from __future__ import annotations

import contextlib
from typing import Any

from eventsourcing.application import AggregateNotFoundError

from domain.errors import NotFoundError, UnknownTillError
from domain.ledger import InventoryLedger
from domain.tills import Till, till_id


class UnknownJournalError(NotFoundError):
    code = "unknown-journal"


def till(ledger: InventoryLedger, code: str) -> Till:
    found: object = None
    with contextlib.suppress(AggregateNotFoundError):
        found = ledger.repository.get(till_id(code))
    if not isinstance(found, Till):
        raise UnknownTillError(
            f"no till {code!r} is registered; register it with POST /tills", till=code
        )
    return found


def journal_report(ledger: InventoryLedger, code: str, journal_id: str) -> dict[str, Any]:
    """What each line of the journal came to, what conflicted and what was done about it."""
    found = till(ledger, code)
    summary = found.journals.get(journal_id)
    if summary is None:
        raise UnknownJournalError(
            f"till {code!r} recorded no line of journal {journal_id!r}; its journals: "
            f"{sorted(found.journals)[-10:] or 'none'}",
            till=code,
            journal_id=journal_id,
        )
    return {
        "till": code,
        "location": found.location,
        "journal_id": journal_id,
        "next_seq": found.next_seq,
        "lines": summary["lines"],
        "first_seq": summary["first_seq"],
        "last_seq": summary["last_seq"],
        "applied": {k: summary.get(k, 0) for k in ("sale", "return", "void")},
        "rejected_lines": summary.get("rejected_lines", 0),
        "rejected": list(summary["rejected"]),
        "conflicted_lines": summary["conflicted"],
        "conflicts": list(summary["conflicts"]),
    }
