"""Request bodies of the customer routes. Emails and phones are checked and normalised by the
route's builder (privacy.contacts), which answers 422 invalid-contact for a bad one."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field, StringConstraints

from api.models import Body, Code, Reference, SkinType

Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
Contact = Annotated[str, StringConstraints(min_length=3, max_length=254, strip_whitespace=True)]
Region = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")]
Purpose = Literal[
    "marketing_email", "marketing_sms", "personalisation", "analytics", "partner_sharing"
]
Concern = Literal[
    "acne", "ageing", "pigmentation", "redness", "dehydration", "dullness", "pores", "sensitivity"
]
Inci = Annotated[str, StringConstraints(min_length=2, max_length=100)]
Short = Annotated[str, StringConstraints(max_length=200)]


class AddressIn(Body):
    line1: Short | None = None
    line2: Short | None = None
    city: Short | None = None
    postcode: Annotated[str, StringConstraints(max_length=20)] | None = None
    region: Short | None = None
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = None


class ContactIn(Body):
    name: Name | None = None
    email: Contact | None = None
    phone: Contact | None = None
    phone_region: Region | None = Field(
        None, description="Country (ISO 3166 alpha-2) to read a phone number without +code in"
    )
    date_of_birth: date | None = None
    address: AddressIn | None = None


Verification = Literal["id-document", "one-time-code", "loyalty-card"]


class RegisterCustomerIn(ContactIn):
    name: Name
    verification: Verification | None = Field(
        None,
        description="Staff only: how the person was checked to be the customer an email or "
        "phone already names; then the new contacts are linked to them and the check recorded. "
        "Without it, a registration that names an existing customer is refused (409 "
        "verification-required) and says nothing of who that is, unless the caller is an admin.",
    )


class SkinProfileIn(Body):
    skin_type: SkinType | None = None
    concerns: list[Concern] = Field(default_factory=list, max_length=8)
    allergies: list[Inci] = Field(
        default_factory=list, max_length=50, description="INCI names, e.g. LIMONENE"
    )


class PreferencesIn(Body):
    fragrance_free: bool | None = None
    vegan: bool | None = None
    cruelty_free: bool | None = None


class LoyaltyTierIn(Body):
    tier: Literal["member", "silver", "gold", "platinum"]


class RedeemPointsIn(Body):
    points: Annotated[int, Field(ge=1, le=10_000_000, strict=True)] = Field(
        description="Points to redeem: at most the balance (409 insufficient-points beyond)"
    )
    reference: Reference = Field(
        description="What they pay for, e.g. the order or the till receipt (a code)"
    )


class WishlistIn(Body):
    sku: Code


class FeedbackIn(Body):
    sku: Code
    rating: Annotated[int, Field(ge=1, le=5, strict=True)]
    comment: Annotated[str, StringConstraints(max_length=2000)] | None = None


class ConsentGrantIn(Body):
    purpose: Purpose
    text_version: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class ConsentWithdrawIn(Body):
    purpose: Purpose


class MergeIn(Body):
    source_id: UUID
    target_id: UUID
    reason: Reference | None = None  # a code, never free text: the log keeps it for good


class ForgetIn(Body):
    reason: Reference | None = None  # a code, never free text: the log keeps it for good
