"""A customer: contact details, skin profile, preferences, loyalty, wishlist, feedback, consents.

Personal and health-like facts travel in each event's `personal` member, which the customer
ledger's mapper seals with the customer's own key. When that key is gone (the customer was
forgotten), the mapper hands `personal=None` back and `apply` records the facts as erased: the
rest of the history (consents, wishlist, loyalty) replays unchanged.
"""

from __future__ import annotations

from datetime import date, datetime
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
from domain.errors import AlreadyExistsError, CustomerForgottenError, InvalidCommandError
from domain.feedback_rules import (
    check_answer,
    check_support_contact,
    require_support_contact_time,
    require_survey_answer_time,
    stated_profile,
)
from domain.loyalty import (
    LoyaltyBook,
    Tiers,
    plan_earning,
    plan_expiry,
    plan_loss,
    plan_redemption,
    tier_for,
)
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

    class SurveyAnswered(Aggregate.Event):
        survey_id: str
        question_id: str
        answer_kind: str
        personal: Personal  # the answer, and the profile fact its question maps to
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            customer = _customer(aggregate)
            customer.erased = customer.erased or self.personal is None
            personal = self.personal or {}
            customer.survey_answers.append(
                {
                    "survey_id": self.survey_id,
                    "question_id": self.question_id,
                    "answer_kind": self.answer_kind,
                    "answer": personal.get("answer"),
                    "maps_to": personal.get("maps_to"),
                    "answered_at": self.trace.occurred_at.isoformat(),
                }
            )

    class SupportContactRecorded(Aggregate.Event):
        contact_id: str
        contact_channel: str
        topic: str
        outcome: str
        agent: str
        personal: Personal  # the notes
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            customer = _customer(aggregate)
            customer.erased = customer.erased or self.personal is None
            customer.support_contacts.append(
                {
                    "contact_id": self.contact_id,
                    "channel": self.contact_channel,
                    "topic": self.topic,
                    "outcome": self.outcome,
                    "agent": self.agent,
                    "occurred_at": self.trace.occurred_at.isoformat(),
                    "notes": (self.personal or {}).get("notes"),
                }
            )

    class LoyaltyTierChanged(Aggregate.Event):
        tier: str
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            _customer(aggregate).loyalty_tier = self.tier

    class PointsEarned(Aggregate.Event):
        points: int
        reference: str  # the sale: order:<id>
        expires_on: date  # the last day the points may be redeemed
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            _customer(aggregate).loyalty.earn(self.points, self.reference, self.expires_on)

    class PointsLost(Aggregate.Event):
        points: int
        reference: str  # the return: order:<id>/<return id>
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            _customer(aggregate).loyalty.lose(self.points, self.reference)

    class PointsRedeemed(Aggregate.Event):
        points: int
        reference: str
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            _customer(aggregate).loyalty.redeem(self.points)

    class PointsExpired(Aggregate.Event):
        points: int
        expired_on: date  # lots whose last day is before it lost what they had left
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            _customer(aggregate).loyalty.expire(self.expired_on)

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
        self.loyalty = LoyaltyBook()
        self.wishlist: list[str] = []
        self.feedback: list[dict[str, Any]] = []
        self.survey_answers: list[dict[str, Any]] = []
        self.support_contacts: list[dict[str, Any]] = []
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
        self.survey_answers = [
            {**item, "answer": None, "maps_to": None} for item in self.survey_answers
        ]
        self.support_contacts = [{**item, "notes": None} for item in self.support_contacts]
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

    def answer_survey(
        self,
        survey_id: str,
        question_id: str,
        answer_kind: str,
        answer: Any,
        maps_to: str | None,
        trace: Trace,
        received_at: datetime,
    ) -> str:
        """Records the answer; a question mapped to a profile fact changes the profile only
        while the customer's personalisation consent is granted. Says what became of the
        profile: `updated`, `unchanged-no-consent` or `not-mapped`."""
        self._require_active()
        require_survey_answer_time(trace.occurred_at, received_at)
        stored = check_answer(answer_kind, answer)
        stated = None if maps_to is None else stated_profile(maps_to, answer_kind, stored)
        personal = {"answer": stored, "maps_to": maps_to}
        self.trigger_event(
            self.SurveyAnswered,
            survey_id=survey_id,
            question_id=question_id,
            answer_kind=answer_kind,
            personal=personal,
            trace=trace,
        )
        if stated is None:
            return "not-mapped"
        if not self.has_consent("personalisation"):
            return "unchanged-no-consent"
        if maps_to == "skin_concerns":
            concerns = sorted(set(self.skin.get("concerns") or ()) | set(stated["concerns"]))
            self.change_skin_profile({**self.skin, "concerns": concerns}, trace)
        else:
            self.change_preferences(stated, trace)
        return "updated"

    def record_support_contact(
        self,
        contact_id: str,
        contact_channel: str,
        topic: str,
        outcome: str,
        agent: str,
        notes: str | None,
        trace: Trace,
        recorded_at: datetime,
    ) -> None:
        self._require_active()
        require_support_contact_time(trace.occurred_at, recorded_at)
        stored = check_support_contact(contact_channel, topic, outcome, agent, notes)
        if any(item["contact_id"] == contact_id for item in self.support_contacts):
            raise AlreadyExistsError(
                f"support contact {contact_id} of customer {self.id} is already recorded; "
                "send a new contact_id for another contact",
                contact_id=contact_id,
            )
        self.trigger_event(
            self.SupportContactRecorded,
            contact_id=contact_id,
            contact_channel=contact_channel,
            topic=topic,
            outcome=outcome,
            agent=agent,
            personal={"notes": stored},
            trace=trace,
        )

    def change_loyalty_tier(self, tier: str, trace: Trace) -> None:
        self._require_active()
        if tier not in LOYALTY_TIERS:
            raise InvalidCommandError(
                f"unknown loyalty tier {tier!r}; expected one of {', '.join(LOYALTY_TIERS)}"
            )
        if tier != self.loyalty_tier:
            self.trigger_event(self.LoyaltyTierChanged, tier=tier, trace=trace)

    def earn_points(
        self, points: int, reference: str, expires_on: date, tiers: Tiers, trace: Trace
    ) -> int:
        """Points for a sale; a reference that earned already earns nothing (0)."""
        self._require_active()
        earned = plan_earning(self.loyalty, points, reference)
        if earned:
            self.trigger_event(
                self.PointsEarned,
                points=earned,
                reference=reference,
                expires_on=expires_on,
                trace=trace,
            )
            self._follow_tier(tiers, trace)
        return earned

    def lose_points(self, points: int, reference: str, tiers: Tiers, trace: Trace) -> int:
        """Points a return takes back (at most what its sale earned, and the balance)."""
        lost = plan_loss(self.loyalty, points, reference)
        if lost:
            self.trigger_event(self.PointsLost, points=lost, reference=reference, trace=trace)
            self._follow_tier(tiers, trace)
        return lost

    def redeem_points(self, points: int, reference: str, trace: Trace) -> None:
        self._require_active()
        redeemed = plan_redemption(self.loyalty, points, str(self.id))
        self.trigger_event(self.PointsRedeemed, points=redeemed, reference=reference, trace=trace)

    def expire_points(self, today: date, tiers: Tiers, trace: Trace) -> int:
        """Points left in lots past their last day; a second run the same day expires none."""
        expired = plan_expiry(self.loyalty, today)
        passed = self.loyalty.expired_through
        if expired or any(
            passed is None or passed <= lot.expires_on < today for lot in self.loyalty.lots
        ):
            self.trigger_event(self.PointsExpired, points=expired, expired_on=today, trace=trace)
            self._follow_tier(tiers, trace)
        return expired

    def _follow_tier(self, tiers: Tiers, trace: Trace) -> None:
        tier = tier_for(self.loyalty.qualifying(), tiers)
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
