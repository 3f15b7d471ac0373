"""Commands of tills: registering one at a store, a store's reconciliation policy, and one
line of a till's offline journal (a sale, a return, or a void of an earlier sale)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from domain.trace import Trace

SALE, RETURN, VOID = "sale", "return", "void"
LINE_KINDS = (SALE, RETURN, VOID)


@dataclass(frozen=True)
class RegisterTill:
    till: str
    location: str
    trace: Trace


@dataclass(frozen=True)
class DeclareReconciliationPolicy:
    location: str
    steps: tuple[str, ...]
    trace: Trace


@dataclass(frozen=True)
class TillItem:
    sku: str
    quantity: int
    batch: str | None = None  # a return names the batch it takes back
    expiry: date | None = None
    restock: bool = True


@dataclass(frozen=True)
class RecordTillLine:
    """One journal line (its trace says when it happened). `rejection` says why the API
    could not read it (it is recorded as rejected so that the lines after it keep their
    order); `voids` names the sale a void takes back, whose items the void repeats."""

    seq: int
    kind: str
    items: tuple[TillItem, ...]
    trace: Trace
    voids: int | None = None
    rejection: str | None = None


@dataclass(frozen=True)
class RecordTillLines:
    """Consecutive lines of one journal, recorded in one command (one till event): a line
    the till recorded before is answered `already_recorded` and applied nowhere."""

    till: str
    journal_id: str
    lines: tuple[RecordTillLine, ...]
    trace: Trace
