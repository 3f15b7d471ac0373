"""A customer: contact details, skin profile, preferences, loyalty, wishlist, feedback, consents.

Personal and health-like facts travel in each event's `personal` member, which the customer
ledger's mapper seals with the customer's own key. When that key is gone (the customer was
forgotten), the mapper hands `personal=None` back and `apply` records the facts as erased: the
rest of the history (consents, wishlist, loyalty) replays unchanged.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.customer_rules import (
    check_address,
    check_date_of_birth,
    check_name,
    check_preferences,
    check_purpose,
    check_rating,
    check_skin_profile,
)
from domain.errors import CustomerForgottenError, InvalidCommandError
from domain.trace import Trace

CONTACT_FIELDS = ("name", "email", "phone", "date_of_birth", "address")
LOYALTY_TIERS = ("member", "silver", "gold", "platinum")

Personal = dict[str, Any] | None


def _customer(aggregate: Aggregate) -> Customer:
    assert isinstance(aggregate, Customer)
    return aggregate


class Customer(Aggregate):
    class Registered(Aggregate.Created):
        personal: Personal
        trace: Trace

    class ContactDetailsChanged(Aggregate.Event):
        personal: Personal
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            _customer(aggregate).take_personal("contact", self.personal)

    class SkinProfileChanged(Aggregate.Event):
        personal: Personal
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            _customer(aggregate).take_personal("skin", self.personal)

    class PreferencesChanged(Aggregate.Event):
        personal: Personal
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            _customer(aggregate).take_personal("preferences", self.personal)

    class FeedbackGiven(Aggregate.Event):
        sku: str
        rating: int
        personal: Personal  # the free-text comment
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            comment = None if self.personal is None else self.personal.get("comment")
            customer = _customer(aggregate)
            customer.erased = customer.erased or self.personal is None
            customer.feedback.append({"sku": self.sku, "rating": self.rating, "comment": comment})

    class LoyaltyTierChanged(Aggregate.Event):
        tier: str
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            _customer(aggregate).loyalty_tier = self.tier

    class WishlistItemAdded(Aggregate.Event):
        sku: str
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            _customer(aggregate).wishlist.append(self.sku)

    class WishlistItemRemoved(Aggregate.Event):
        sku: str
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            _customer(aggregate).wishlist.remove(self.sku)

    class ConsentGranted(Aggregate.Event):
        purpose: str
        text_version: str
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            _customer(aggregate).consents[self.purpose] = {
                "granted": True,
                "text_version": self.text_version,
                "channel": self.trace.channel,
                "at": self.trace.occurred_at.isoformat(),
            }

    class ConsentWithdrawn(Aggregate.Event):
        purpose: str
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            consents = _customer(aggregate).consents
            consents[self.purpose] = {
                **consents[self.purpose],
                "granted": False,
                "channel": self.trace.channel,
                "at": self.trace.occurred_at.isoformat(),
            }

    class IdentityLinked(Aggregate.Event):
        identity_id: UUID
        kind: str
        trace: Trace
        verification: str | None = None  # how staff checked the person, for a match's link

        def apply(self, aggregate: Aggregate) -> None:
            _customer(aggregate).identities[str(self.identity_id)] = self.kind

    class IdentityUnlinked(Aggregate.Event):
        identity_id: UUID
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            _customer(aggregate).identities.pop(str(self.identity_id), None)

    class Absorbed(Aggregate.Event):
        """Another customer was merged into this one; its history stays under its own id."""

        source_id: UUID
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            _customer(aggregate).absorbed.append(self.source_id)

    class MergedInto(Aggregate.Event):
        target_id: UUID
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            _customer(aggregate).merged_into = self.target_id

    # --- feedback, support and loyalty points (issue 18's shared contract) -------------------

    class SurveyAnswered(Aggregate.Event):
        survey_id: str
        question_id: str
        answer_kind: str
        personal: Personal  # the answer's text or choices
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            customer = _customer(aggregate)
            customer.erased = customer.erased or self.personal is None
            customer.survey_answers.append((self.survey_id, self.question_id))

    class SupportContactRecorded(Aggregate.Event):
        contact_id: str
        contact_channel: str
        topic: str
        outcome: str
        agent: str
        personal: Personal  # the agent's notes
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            customer = _customer(aggregate)
            customer.erased = customer.erased or self.personal is None
            customer.support_contacts.append(self.contact_id)

    class PointsEarned(Aggregate.Event):
        points: int
        reference: str
        expires_on: date
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            _customer(aggregate).loyalty_points += self.points

    class PointsLost(Aggregate.Event):
        points: int
        reference: str
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            _customer(aggregate).loyalty_points -= self.points

    class PointsRedeemed(Aggregate.Event):
        points: int
        reference: str
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            _customer(aggregate).loyalty_points -= self.points

    class PointsExpired(Aggregate.Event):
        points: int
        expired_on: date
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            _customer(aggregate).loyalty_points -= self.points

    class Forgotten(Aggregate.Event):
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            customer = _customer(aggregate)
            customer.forgotten = True
            customer.erase_personal()

    def __init__(self, personal: Personal, trace: Trace) -> None:
        self.registered_on = trace.channel
        self.contact: dict[str, Any] = {}
        self.skin: dict[str, Any] = {}
        self.preferences: dict[str, Any] = {}
        self.erased = False
        self.loyalty_tier = LOYALTY_TIERS[0]
        self.loyalty_points = 0
        self.survey_answers: list[tuple[str, str]] = []  # (survey id, question id)
        self.support_contacts: list[str] = []  # contact ids
        self.wishlist: list[str] = []
        self.feedback: list[dict[str, Any]] = []
        self.consents: dict[str, dict[str, Any]] = {}
        self.identities: dict[str, str] = {}
        self.absorbed: list[UUID] = []
        self.merged_into: UUID | None = None
        self.forgotten = False
        self.take_personal("contact", personal)

    # --- state changes used by apply (no rules here) ---------------------------------------

    def take_personal(self, part: str, personal: Personal) -> None:
        if personal is None:
            self.erased = True
            return
        getattr(self, part).update(personal)

    def erase_personal(self) -> None:
        self.contact, self.skin, self.preferences = {}, {}, {}
        self.feedback = [{**item, "comment": None} for item in self.feedback]
        self.erased = True

    # --- commands ----------------------------------------------------------------------------

    @classmethod
    def register(cls, customer_id: UUID, contact: dict[str, Any], trace: Trace) -> Customer:
        _check_contact(contact, trace)
        return cls._create(cls.Registered, id=customer_id, personal=contact, trace=trace)

    def change_contact(self, changes: dict[str, Any], trace: Trace) -> None:
        self._require_active()
        _check_contact(changes, trace)
        if changes:
            self.trigger_event(self.ContactDetailsChanged, personal=changes, trace=trace)

    def change_skin_profile(self, profile: dict[str, Any], trace: Trace) -> None:
        self._require_active()
        self.trigger_event(
            self.SkinProfileChanged, personal=check_skin_profile(profile), trace=trace
        )

    def change_preferences(self, preferences: dict[str, bool], trace: Trace) -> None:
        self._require_active()
        self.trigger_event(
            self.PreferencesChanged, personal=check_preferences(preferences), trace=trace
        )

    def give_feedback(self, sku: str, rating: int, comment: str | None, trace: Trace) -> None:
        self._require_active()
        check_rating(rating)
        personal = {"comment": (comment or "").strip()[:2000] or None}
        self.trigger_event(
            self.FeedbackGiven, sku=sku, rating=rating, personal=personal, trace=trace
        )

    def change_loyalty_tier(self, tier: str, trace: Trace) -> None:
        self._require_active()
        if tier not in LOYALTY_TIERS:
            raise InvalidCommandError(
                f"unknown loyalty tier {tier!r}; expected one of {', '.join(LOYALTY_TIERS)}"
            )
        if tier != self.loyalty_tier:
            self.trigger_event(self.LoyaltyTierChanged, tier=tier, trace=trace)

    def add_to_wishlist(self, sku: str, trace: Trace) -> None:
        self._require_active()
        if sku not in self.wishlist:
            self.trigger_event(self.WishlistItemAdded, sku=sku, trace=trace)

    def remove_from_wishlist(self, sku: str, trace: Trace) -> None:
        self._require_active()
        if sku in self.wishlist:
            self.trigger_event(self.WishlistItemRemoved, sku=sku, trace=trace)

    def grant_consent(self, purpose: str, text_version: str, trace: Trace) -> None:
        self._require_active()
        check_purpose(purpose)
        if not text_version.strip():
            raise InvalidCommandError("a consent needs the version of the text the customer saw")
        current = self.consents.get(purpose, {})
        if not current.get("granted") or current.get("text_version") != text_version:
            self.trigger_event(
                self.ConsentGranted, purpose=purpose, text_version=text_version, trace=trace
            )

    def withdraw_consent(self, purpose: str, trace: Trace) -> None:
        self._require_active()
        check_purpose(purpose)
        if self.has_consent(purpose):
            self.trigger_event(self.ConsentWithdrawn, purpose=purpose, trace=trace)

    def link_identity(
        self, identity_id: UUID, kind: str, trace: Trace, verification: str | None = None
    ) -> None:
        if str(identity_id) not in self.identities:
            self.trigger_event(
                self.IdentityLinked,
                identity_id=identity_id,
                kind=kind,
                trace=trace,
                verification=verification,
            )

    def unlink_identity(self, identity_id: UUID, trace: Trace) -> None:
        if str(identity_id) in self.identities:
            self.trigger_event(self.IdentityUnlinked, identity_id=identity_id, trace=trace)

    def absorb(self, source: Customer, trace: Trace) -> None:
        self._require_active()
        source._require_active()
        if source.id == self.id:
            raise InvalidCommandError("a customer cannot be merged into itself")
        source.trigger_event(source.MergedInto, target_id=self.id, trace=trace)
        self.trigger_event(self.Absorbed, source_id=source.id, trace=trace)

    def forget(self, trace: Trace) -> bool:
        """True if this call forgot the customer; a second request changes nothing."""
        if self.forgotten:
            return False
        self.trigger_event(self.Forgotten, trace=trace)
        return True

    # --- questions ---------------------------------------------------------------------------

    def has_consent(self, purpose: str) -> bool:
        return bool(self.consents.get(purpose, {}).get("granted"))

    def _require_active(self) -> None:
        if self.forgotten:
            raise CustomerForgottenError(
                f"customer {self.id} was forgotten at their request; register anew to come back",
                customer_id=str(self.id),
            )
        if self.merged_into is not None:
            raise InvalidCommandError(
                f"customer {self.id} was merged into {self.merged_into}; use that id",
                merged_into=str(self.merged_into),
            )


def _check_contact(contact: dict[str, Any], trace: Trace) -> None:
    unknown = set(contact) - set(CONTACT_FIELDS)
    if unknown:
        raise InvalidCommandError(f"unknown contact field(s): {', '.join(sorted(unknown))}")
    if "name" in contact:
        check_name(contact["name"])
    if isinstance(contact.get("date_of_birth"), date):
        check_date_of_birth(contact["date_of_birth"], trace.occurred_at.date())
    if contact.get("address") is not None:
        check_address(contact["address"])
