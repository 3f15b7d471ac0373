"""One handler per customer command: load, decide, answer. Results carry ids, never personal
data, because the customer ledger keeps each one for its idempotency key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from domain import customer_commands as c
from domain.customer import Customer
from domain.errors import (
    IdentityConflictError,
    InvalidCommandError,
    UnknownCustomerError,
    VerificationRequiredError,
)
from domain.identity import IdentityKey
from domain.results import Result
from domain.trace import Trace
from domain.unit_of_work import UnitOfWork

MAX_MERGE_HOPS = 20


def register_customer(cmd: c.RegisterCustomer, uow: UnitOfWork) -> Result:
    if not cmd.identities:
        raise InvalidCommandError("a registration needs an email or a phone number")
    owners = {owner for claim in cmd.identities if (owner := _holder(uow, claim))}
    if len(owners) > 1:
        named = {"customers": sorted(map(str, owners))} if cmd.matching.sees_customer else {}
        raise IdentityConflictError(
            "the email and the phone identify two different customers; merge them first",
            **named,
        )
    if owners:
        return _matched(cmd, uow, surviving_customer(uow, owners.pop()))
    customer = Customer.register(cmd.customer_id, cmd.contact, cmd.trace)
    uow.add(customer)
    for claim in cmd.identities:
        _claim(uow, customer, claim, cmd.trace)
    return Result({"customer_id": str(customer.id), "matched": False}, created=True)


def _matched(cmd: c.RegisterCustomer, uow: UnitOfWork, customer: Customer) -> Result:
    """A registration that names an existing customer: linked only after a recorded check,
    told only to whoever may read the customer anyway, otherwise refused without a name."""
    matching = cmd.matching
    if matching.verification is None and not matching.sees_customer:
        raise VerificationRequiredError(
            "this email or phone already identifies a customer; the customer's own account, "
            "or staff who verified the person (send `verification`), can link new contacts"
        )
    if matching.verification is not None:
        for claim in cmd.identities:
            _claim(uow, customer, claim, cmd.trace, matching.verification)
    return Result({"customer_id": str(customer.id), "matched": True})


def change_contact_details(cmd: c.ChangeContactDetails, uow: UnitOfWork) -> Result:
    customer = surviving_customer(uow, cmd.customer_id)
    customer.change_contact(cmd.changes, cmd.trace)
    for claim in cmd.identities:
        for old_id, kind in list(customer.identities.items()):
            if kind == claim.kind and UUID(old_id) != claim.identity_id:
                _release(uow, customer, UUID(old_id), cmd.trace)
        _claim(uow, customer, claim, cmd.trace)
    return _done(customer)


def rekey_identities(cmd: c.RekeyIdentities, uow: UnitOfWork) -> Result:
    customer = surviving_customer(uow, cmd.customer_id)
    for claim in cmd.identities:
        if claim.legacy_id is not None and str(claim.legacy_id) in customer.identities:
            _claim(uow, customer, claim, cmd.trace)
    return _done(customer)


def change_skin_profile(cmd: c.ChangeSkinProfile, uow: UnitOfWork) -> Result:
    customer = surviving_customer(uow, cmd.customer_id)
    customer.change_skin_profile(cmd.profile, cmd.trace)
    return _done(customer)


def change_preferences(cmd: c.ChangePreferences, uow: UnitOfWork) -> Result:
    customer = surviving_customer(uow, cmd.customer_id)
    customer.change_preferences(cmd.preferences, cmd.trace)
    return _done(customer)


def change_loyalty_tier(cmd: c.ChangeLoyaltyTier, uow: UnitOfWork) -> Result:
    customer = surviving_customer(uow, cmd.customer_id)
    customer.change_loyalty_tier(cmd.tier, cmd.trace)
    return _done(customer)


def earn_points(cmd: c.EarnPoints, uow: UnitOfWork) -> Result:
    customer = surviving_customer(uow, cmd.customer_id)
    earned = customer.earn_points(cmd.points, cmd.reference, cmd.expires_on, cmd.tiers, cmd.trace)
    return _points(customer, earned=earned)


def lose_points(cmd: c.LosePoints, uow: UnitOfWork) -> Result:
    customer = surviving_customer(uow, cmd.customer_id)
    lost = customer.lose_points(cmd.points, cmd.reference, cmd.tiers, cmd.trace)
    return _points(customer, lost=lost)


def redeem_points(cmd: c.RedeemPoints, uow: UnitOfWork) -> Result:
    customer = surviving_customer(uow, cmd.customer_id)
    customer.redeem_points(cmd.points, cmd.reference, cmd.trace)
    return _points(customer, redeemed=cmd.points)


def expire_points(cmd: c.ExpirePoints, uow: UnitOfWork) -> Result:
    customer = surviving_customer(uow, cmd.customer_id)
    expired = customer.expire_points(cmd.today, cmd.tiers, cmd.trace)
    return _points(customer, expired=expired)


def _points(customer: Customer, **changed: int) -> Result:
    return Result(
        {
            **_done(customer).body,
            **changed,
            "balance": customer.loyalty.balance,
            "tier": customer.loyalty_tier,
        }
    )


def add_to_wishlist(cmd: c.AddToWishlist, uow: UnitOfWork) -> Result:
    customer = surviving_customer(uow, cmd.customer_id)
    customer.add_to_wishlist(cmd.sku, cmd.trace)
    return _done(customer)


def remove_from_wishlist(cmd: c.RemoveFromWishlist, uow: UnitOfWork) -> Result:
    customer = surviving_customer(uow, cmd.customer_id)
    customer.remove_from_wishlist(cmd.sku, cmd.trace)
    return _done(customer)


def give_feedback(cmd: c.GiveFeedback, uow: UnitOfWork) -> Result:
    customer = surviving_customer(uow, cmd.customer_id)
    customer.give_feedback(cmd.sku, cmd.rating, cmd.comment, cmd.trace)
    return _done(customer)


def answer_survey(cmd: c.AnswerSurvey, uow: UnitOfWork) -> Result:
    """The answer is recorded; the profile changes only if the question states a profile fact
    and the customer's personalisation consent is granted now, decided on the state the
    writer decides on. The answer (kept for the idempotency key) holds no answer text."""
    customer = surviving_customer(uow, cmd.customer_id)
    profile = customer.answer_survey(
        cmd.survey_id,
        cmd.question_id,
        cmd.answer_kind,
        cmd.answer,
        cmd.maps_to,
        cmd.trace,
        cmd.received_at,
    )
    body = {"survey_id": cmd.survey_id, "question_id": cmd.question_id, "profile": profile}
    return Result({**_done(customer).body, **body})


def record_support_contact(cmd: c.RecordSupportContact, uow: UnitOfWork) -> Result:
    customer = surviving_customer(uow, cmd.customer_id)
    customer.record_support_contact(
        cmd.contact_id,
        cmd.contact_channel,
        cmd.topic,
        cmd.outcome,
        cmd.agent,
        cmd.notes,
        cmd.trace,
        cmd.recorded_at,
    )
    return Result({**_done(customer).body, "contact_id": cmd.contact_id}, created=True)


def grant_consent(cmd: c.GrantConsent, uow: UnitOfWork) -> Result:
    customer = surviving_customer(uow, cmd.customer_id)
    customer.grant_consent(cmd.purpose, cmd.text_version, cmd.trace)
    return Result({**_done(customer).body, "purpose": cmd.purpose, "granted": True})


def withdraw_consent(cmd: c.WithdrawConsent, uow: UnitOfWork) -> Result:
    customer = surviving_customer(uow, cmd.customer_id)
    customer.withdraw_consent(cmd.purpose, cmd.trace)
    return Result({**_done(customer).body, "purpose": cmd.purpose, "granted": False})


def merge_customers(cmd: c.MergeCustomers, uow: UnitOfWork) -> Result:
    source, target = surviving_customer(uow, cmd.source_id), surviving_customer(uow, cmd.target_id)
    target.absorb(source, cmd.trace)
    for key_id, kind in source.identities.items():
        key = _key(uow, UUID(key_id))
        if key is not None and key.customer_id == source.id:
            key.reclaim(target.id)
            target.link_identity(UUID(key_id), kind, cmd.trace)
    return Result({"customer_id": str(target.id), "merged": str(source.id)})


def forget_customer(cmd: c.ForgetCustomer, uow: UnitOfWork) -> Result:
    """Forgets the person: the customer, and every customer merged into them."""
    customer = surviving_customer(uow, cmd.customer_id)
    forgotten = []
    for person in [customer, *(_merged(uow, source) for source in customer.absorbed)]:
        for key_id in list(person.identities):
            _release(uow, person, UUID(key_id), cmd.trace)
        person.forget(cmd.trace)
        forgotten.append(str(person.id))
    return Result({"customer_id": str(customer.id), "forgotten": forgotten})


CUSTOMER_HANDLERS: dict[type[Any], Callable[[Any, UnitOfWork], Result]] = {
    c.RegisterCustomer: register_customer,
    c.ChangeContactDetails: change_contact_details,
    c.RekeyIdentities: rekey_identities,
    c.ChangeSkinProfile: change_skin_profile,
    c.ChangePreferences: change_preferences,
    c.ChangeLoyaltyTier: change_loyalty_tier,
    c.EarnPoints: earn_points,
    c.LosePoints: lose_points,
    c.RedeemPoints: redeem_points,
    c.ExpirePoints: expire_points,
    c.AddToWishlist: add_to_wishlist,
    c.RemoveFromWishlist: remove_from_wishlist,
    c.GiveFeedback: give_feedback,
    c.AnswerSurvey: answer_survey,
    c.RecordSupportContact: record_support_contact,
    c.GrantConsent: grant_consent,
    c.WithdrawConsent: withdraw_consent,
    c.MergeCustomers: merge_customers,
    c.ForgetCustomer: forget_customer,
}


def handle_customer(command: c.CustomerCommand, uow: UnitOfWork) -> Result:
    return CUSTOMER_HANDLERS[type(command)](command, uow)


# --- loading helpers ---------------------------------------------------------------------


def surviving_customer(uow: UnitOfWork, customer_id: UUID) -> Customer:
    """The customer, following merges to the survivor: an old id keeps working."""
    for _ in range(MAX_MERGE_HOPS):
        found = uow.find(customer_id)  # a client's id may name another kind of aggregate
        if not isinstance(found, Customer):
            break
        if found.merged_into is None:
            return found
        customer_id = found.merged_into
    raise UnknownCustomerError(f"no customer {customer_id}", customer_id=str(customer_id))


def _merged(uow: UnitOfWork, customer_id: UUID) -> Customer:
    found = uow.find(customer_id)
    if not isinstance(found, Customer):
        raise UnknownCustomerError(f"no customer {customer_id}", customer_id=str(customer_id))
    return found


def _key(uow: UnitOfWork, key_id: UUID) -> IdentityKey | None:
    found = uow.find(key_id)
    return found if isinstance(found, IdentityKey) else None


def _holder(uow: UnitOfWork, claim: c.IdentityClaim) -> UUID | None:
    """The customer this email or phone names, under its keyed id or its pre-keyed one."""
    for key_id in (claim.identity_id, claim.legacy_id):
        key = None if key_id is None else _key(uow, key_id)
        if key is not None and key.customer_id is not None:
            return key.customer_id
    return None


def _claim(
    uow: UnitOfWork,
    customer: Customer,
    claim: c.IdentityClaim,
    trace: Trace,
    verification: str | None = None,
) -> None:
    if _holder(uow, claim) not in (None, customer.id):
        raise IdentityConflictError(
            f"this {claim.kind} already identifies another customer; merge them first",
            kind=claim.kind,
        )
    key = _key(uow, claim.identity_id)
    if key is None:
        uow.add(IdentityKey.claim(claim.identity_id, claim.kind, customer.id))
    else:
        key.reclaim(customer.id)
    customer.link_identity(claim.identity_id, claim.kind, trace, verification)
    if claim.legacy_id is not None and str(claim.legacy_id) in customer.identities:
        _release(uow, customer, claim.legacy_id, trace)  # re-keyed: the guessable id goes


def _release(uow: UnitOfWork, customer: Customer, key_id: UUID, trace: Trace) -> None:
    key = _key(uow, key_id)
    if key is not None and key.customer_id == customer.id:
        key.release()
    customer.unlink_identity(key_id, trace)


def _done(customer: Customer) -> Result:
    return Result({"customer_id": str(customer.id), "version": customer.version})
