"""Request bodies of the till routes: a till's registration, a store's reconciliation policy,
and one line of an offline journal."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from api.models import AwareDatetime, Body, Code, Quantity

Step = Literal["resource", "cancel_hold", "shortage"]


class RegisterTillIn(Body):
    till: Code
    location: Code = Field(description="The store the till belongs to")


class ReconciliationPolicyIn(Body):
    steps: list[Step] = Field(
        min_length=1,
        max_length=3,
        description="Tried in order on the holds a late till sale conflicts with; what none "
        "frees is recorded as a shortage (always the last step)",
    )


class TillItemIn(Body):
    sku: Code
    quantity: Quantity
    batch: Code | None = Field(None, description="A return names the batch it takes back")
    expiry: date | None = Field(None, description="A return of a batch never held here")
    restock: bool = True


class JournalLineIn(Body):
    seq: int = Field(ge=1, le=2**53, strict=True, description="The till's sequence number")
    type: Literal["sale", "return", "void"]
    occurred_at: AwareDatetime
    lines: list[TillItemIn] = Field(min_length=1, max_length=100)
    voids: int | None = Field(None, ge=1, strict=True, description="A void: the sale's seq")
