"""Segments and audiences for the API and the CLI: RFM, cohorts and churn from ClickHouse
(projections/segments.py), audiences defined and versioned in PostgreSQL
(storage/audience_book.py), computed as of a moment and recorded, and exported only for the
members whose consent to the audience's purpose holds now, read fresh from the customer
ledger (not from the dimension, which may lag)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

import hashlib
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.customer import Customer
from domain.errors import UnknownCustomerError
from projections import segments
from projections.audience_definitions import (
    canonical,
    check_name,
    check_purpose,
    compile_conditions,
)
from projections.segments import AsOf
from service_layer.customer_desk import CustomerDesk
from storage.audience_book import Audience, AudienceBook, Computation


class AudiencesUnavailableError(RuntimeError):
    """Audiences are kept in PostgreSQL; this ledger runs on SQLite."""


class UnknownAudienceError(LookupError):
    """No audience (or no such version of it) under that name."""


@dataclass(frozen=True)
class Membership:
    audience: Audience
    computation: Computation
    members: list[str]  # sorted customer ids


def members_digest(members: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(members)).encode()).hexdigest()


class SegmentDesk:
    def __init__(self, client: Client, customers: CustomerDesk, book: AudienceBook | None) -> None:
        self.client = client
        self.customers = customers
        self.book = book

    def rfm(self, as_of: AsOf) -> list[dict[str, Any]]:
        return segments.rfm(self.client, as_of)

    def rfm_cells(self, as_of: AsOf) -> list[dict[str, Any]]:
        return segments.rfm_cells(self.client, as_of)

    def cohorts(self, as_of: AsOf) -> dict[str, list[dict[str, Any]]]:
        return segments.cohorts(self.client, as_of)

    def churn(self, as_of: AsOf) -> list[dict[str, Any]]:
        return segments.churn(self.client, as_of)

    def define(
        self, name: str, purpose: str, conditions: list[dict[str, Any]], created_by: str
    ) -> Audience:
        """Checked (a DefinitionError says what is wrong), then saved as the next version."""
        return self._book().define(
            check_name(name), check_purpose(purpose), canonical(conditions), created_by
        )

    def audiences(self) -> list[Audience]:
        return self._book().listed()

    def audience(self, name: str, version: int | None = None) -> Audience:
        book = self._book()
        found = book.latest(name) if version is None else book.version(name, version)
        if found is None:
            which = "" if version is None else f" version {version}"
            raise UnknownAudienceError(f"no audience {name!r}{which}; see GET /segments/audiences")
        return found

    def compute(
        self, name: str, as_of: AsOf, computed_by: str, version: int | None = None
    ) -> Membership:
        """The members of the audience as of the moment, recorded (version, as_of, count,
        digest): the same version and moment give the same members, which the digest shows."""
        audience = self.audience(name, version)
        compiled = compile_conditions(audience.conditions)
        found = segments.profiles(self.client, as_of, compiled.where, compiled.parameters)
        members = sorted(str(row["customer_id"]) for row in found)
        computation = self._book().record(
            audience, as_of.moment, computed_by, len(members), members_digest(members)
        )
        return Membership(audience, computation, members)

    def consenting(self, members: list[str], purpose: str) -> list[str]:
        """The members who may be contacted for `purpose` now: their consent read from the
        customer ledger at this moment; forgotten or merged customers are left out."""
        return [member for member in members if self._consents(member, purpose)]

    def _consents(self, member: str, purpose: str) -> bool:
        try:
            customer: Customer = self.customers.customer(UUID(member))
        except (ValueError, UnknownCustomerError):
            return False
        return (
            str(customer.id) == member and not customer.forgotten and customer.has_consent(purpose)
        )

    def computations(self, name: str) -> list[Computation]:
        self.audience(name)
        return self._book().computations(name)

    def _book(self) -> AudienceBook:
        if self.book is None:
            raise AudiencesUnavailableError(
                "audiences are kept beside the PostgreSQL event store; this ledger runs on SQLite"
            )
        return self.book
