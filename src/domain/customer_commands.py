"""Commands to the customer ledger: imperative, frozen, each carrying its Trace.

Contact details arrive already normalised (emails lower case, phones in E.164), and identity
claims arrive as keyed ids: the API normalises and pseudonymises, so the domain needs neither
a parsing library nor the ledger's secret, and never sees a contact as an identity key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from domain.loyalty import DEFAULT_TIERS, Tiers
from domain.trace import Trace


@dataclass(frozen=True)
class IdentityClaim:
    kind: str  # "email" or "phone"
    identity_id: UUID  # keyed pseudonym of the normalised email or E.164 number
    legacy_id: UUID | None = None  # its id in stores made before keyed ids: looked up only


@dataclass(frozen=True)
class Matching:
    """What a registration may do when its email or phone already names a customer.

    `sees_customer`: the caller may already read any customer (admin): it is told who matched.
    `verification`: how the caller checked that the person is that customer (staff only);
    then the new contacts are linked to them, and the check is recorded with each link.
    Without either, the match is refused without naming the customer and changes nothing."""

    sees_customer: bool = False
    verification: str | None = None


@dataclass(frozen=True)
class RegisterCustomer:
    customer_id: UUID  # used only if no identity already names a customer
    contact: dict[str, Any]
    identities: tuple[IdentityClaim, ...]
    trace: Trace
    matching: Matching = Matching()


@dataclass(frozen=True)
class ChangeContactDetails:
    customer_id: UUID
    changes: dict[str, Any]
    identities: tuple[IdentityClaim, ...]
    trace: Trace


@dataclass(frozen=True)
class RekeyIdentities:
    """Replace identity ids made before keyed ids by keyed ones (claims carry both)."""

    customer_id: UUID
    identities: tuple[IdentityClaim, ...]
    trace: Trace


@dataclass(frozen=True)
class ChangeSkinProfile:
    customer_id: UUID
    profile: dict[str, Any]
    trace: Trace


@dataclass(frozen=True)
class ChangePreferences:
    customer_id: UUID
    preferences: dict[str, bool]
    trace: Trace


@dataclass(frozen=True)
class ChangeLoyaltyTier:
    customer_id: UUID
    tier: str
    trace: Trace


@dataclass(frozen=True)
class EarnPoints:
    """Points for a settled sale (`reference` order:<id>); a repeat earns nothing."""

    customer_id: UUID
    points: int
    reference: str
    expires_on: date
    trace: Trace
    tiers: Tiers = DEFAULT_TIERS


@dataclass(frozen=True)
class LosePoints:
    """Points a refunded return takes back (`reference` order:<id>/<return id>)."""

    customer_id: UUID
    points: int
    reference: str
    trace: Trace
    tiers: Tiers = DEFAULT_TIERS


@dataclass(frozen=True)
class RedeemPoints:
    customer_id: UUID
    points: int
    reference: str
    trace: Trace


@dataclass(frozen=True)
class ExpirePoints:
    """Expire what is left of the lots whose last day is before `today`."""

    customer_id: UUID
    today: date
    trace: Trace
    tiers: Tiers = DEFAULT_TIERS


@dataclass(frozen=True)
class AddToWishlist:
    customer_id: UUID
    sku: str
    trace: Trace


@dataclass(frozen=True)
class RemoveFromWishlist:
    customer_id: UUID
    sku: str
    trace: Trace


@dataclass(frozen=True)
class GiveFeedback:
    customer_id: UUID
    sku: str
    rating: int
    comment: str | None
    trace: Trace


@dataclass(frozen=True)
class AnswerSurvey:
    """A survey tool's answer for a customer; `trace.occurred_at` is when it was answered,
    `received_at` when the ledger received it. `answer` is personal: it is sealed."""

    customer_id: UUID
    survey_id: str
    question_id: str
    answer_kind: str  # choice, scale or text
    answer: Any
    maps_to: str | None  # skin_concerns or preferences: the profile fact the question states
    trace: Trace
    received_at: datetime


@dataclass(frozen=True)
class RecordSupportContact:
    """A contact with the customer; `trace.occurred_at` is when it happened. The notes are
    personal: they are sealed."""

    customer_id: UUID
    contact_id: str
    contact_channel: str
    topic: str
    outcome: str
    agent: str
    notes: str | None
    trace: Trace
    recorded_at: datetime


@dataclass(frozen=True)
class GrantConsent:
    customer_id: UUID
    purpose: str
    text_version: str
    trace: Trace


@dataclass(frozen=True)
class WithdrawConsent:
    customer_id: UUID
    purpose: str
    trace: Trace


@dataclass(frozen=True)
class MergeCustomers:
    source_id: UUID
    target_id: UUID
    trace: Trace


@dataclass(frozen=True)
class ForgetCustomer:
    customer_id: UUID
    trace: Trace


CustomerCommand = (
    RegisterCustomer
    | ChangeContactDetails
    | RekeyIdentities
    | ChangeSkinProfile
    | ChangePreferences
    | ChangeLoyaltyTier
    | EarnPoints
    | LosePoints
    | RedeemPoints
    | ExpirePoints
    | AddToWishlist
    | RemoveFromWishlist
    | GiveFeedback
    | AnswerSurvey
    | RecordSupportContact
    | GrantConsent
    | WithdrawConsent
    | MergeCustomers
    | ForgetCustomer
)
