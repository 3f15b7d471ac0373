"""Customers: registration resolves identities, facts are checked, merges redirect, forgetting
erases personal data and frees the identities."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.unit.memory_uow import MemoryUnitOfWork

from domain import customer_commands as c
from domain.customer import Customer
from domain.customer_handlers import handle_customer
from domain.errors import (
    CustomerForgottenError,
    IdentityConflictError,
    InvalidCommandError,
    UnknownCustomerError,
    VerificationRequiredError,
)
from domain.identity import IdentityKey
from domain.results import Result
from domain.trace import Trace
from privacy.pseudonyms import Pseudonyms, legacy_identity_id

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
WEB = Trace("web", "tester", NOW)
POS = Trace("pos", "till-7", NOW)
PSEUDONYMS = Pseudonyms.from_secret(b"unit-test-ledger-secret")
ADMIN = c.Matching(sees_customer=True)


def claim(kind: str, key: str) -> c.IdentityClaim:
    return c.IdentityClaim(kind, PSEUDONYMS.identity_id(kind, key))


EMAIL = claim("email", "elodie@example.com")
PHONE = claim("phone", "+33612345678")
CONTACT = {
    "name": "Élodie Martin",
    "email": "elodie@example.com",
    "date_of_birth": date(1990, 4, 12),
}


def run(uow: MemoryUnitOfWork, command: Any) -> Result:
    return uow.run(command, handle_customer)


def register(uow: MemoryUnitOfWork, *claims: c.IdentityClaim, trace: Trace = WEB) -> uuid.UUID:
    answer = run(uow, c.RegisterCustomer(uuid.uuid4(), CONTACT, claims or (EMAIL,), trace))
    return uuid.UUID(answer.body["customer_id"])


def test_a_registration_naming_a_customer_is_refused_without_naming_them_or_changing_them() -> None:
    uow = MemoryUnitOfWork()
    first = register(uow, EMAIL)
    before = len(uow.history[first])
    with pytest.raises(VerificationRequiredError) as refused:
        run(uow, c.RegisterCustomer(uuid.uuid4(), CONTACT, (EMAIL, PHONE), POS))
    assert str(first) not in str(refused.value) + repr(refused.value.details)
    assert len(uow.history[first]) == before and PHONE.identity_id not in uow.history


def test_an_admin_is_told_who_matched_but_the_customer_is_not_changed() -> None:
    uow = MemoryUnitOfWork()
    first = register(uow, EMAIL)
    answer = run(uow, c.RegisterCustomer(uuid.uuid4(), CONTACT, (EMAIL, PHONE), POS, ADMIN))
    assert not answer.created and answer.body == {"customer_id": str(first), "matched": True}
    assert uow.event_types() == [] and PHONE.identity_id not in uow.history


def test_staff_who_verified_the_person_link_the_new_phone_and_the_check_is_recorded() -> None:
    uow = MemoryUnitOfWork()
    first = register(uow, EMAIL)
    verified = c.Matching(verification="id-document")
    answer = run(uow, c.RegisterCustomer(uuid.uuid4(), CONTACT, (EMAIL, PHONE), POS, verified))
    assert not answer.created and answer.body == {"customer_id": str(first), "matched": True}
    assert sorted(uow.event_types()) == ["Customer.IdentityLinked", "IdentityKey.Claimed"]
    assert uow.get(PHONE.identity_id).customer_id == first
    linked = uow.history[first][-1]
    assert linked.verification == "id-document" and linked.trace.channel == "pos"


def test_an_email_and_a_phone_of_two_customers_are_a_conflict() -> None:
    uow = MemoryUnitOfWork()
    owners = {str(register(uow, EMAIL)), str(register(uow, PHONE))}
    with pytest.raises(IdentityConflictError) as refused:
        run(uow, c.RegisterCustomer(uuid.uuid4(), CONTACT, (EMAIL, PHONE), WEB))
    assert not owners & set(refused.value.details.get("customers", []))  # not told whose
    with pytest.raises(IdentityConflictError) as told:
        run(uow, c.RegisterCustomer(uuid.uuid4(), CONTACT, (EMAIL, PHONE), WEB, ADMIN))
    assert set(told.value.details["customers"]) == owners


def test_a_customer_registered_under_a_pre_keyed_id_is_found_and_rekeyed_when_linked() -> None:
    uow = MemoryUnitOfWork()
    legacy = legacy_identity_id("email", "elodie@example.com")
    old = register(uow, c.IdentityClaim("email", legacy))  # as a store made before keyed ids
    upgraded = c.IdentityClaim("email", EMAIL.identity_id, legacy)
    verified = c.Matching(verification="one-time-code")
    answer = run(uow, c.RegisterCustomer(uuid.uuid4(), CONTACT, (upgraded,), WEB, verified))
    assert answer.body["customer_id"] == str(old)
    assert uow.get(EMAIL.identity_id).customer_id == old
    assert uow.get(legacy).customer_id is None
    assert list(uow.get(old).identities) == [str(EMAIL.identity_id)]
    with pytest.raises(VerificationRequiredError):  # still found, under either id
        run(uow, c.RegisterCustomer(uuid.uuid4(), CONTACT, (upgraded,), WEB))


def test_a_registration_needs_an_identity() -> None:
    with pytest.raises(InvalidCommandError):
        run(MemoryUnitOfWork(), c.RegisterCustomer(uuid.uuid4(), CONTACT, (), WEB))


@pytest.mark.parametrize(
    "profile",
    [{"skin_type": "scaly"}, {"concerns": ["warts"]}, {"allergies": ["limonene; drop table"]}],
)
def test_an_unknown_skin_fact_is_refused(profile: dict[str, Any]) -> None:
    uow = MemoryUnitOfWork()
    customer_id = register(uow)
    with pytest.raises(InvalidCommandError):
        run(uow, c.ChangeSkinProfile(customer_id, profile, WEB))


def test_allergies_are_kept_as_inci_names_in_capitals() -> None:
    uow = MemoryUnitOfWork()
    customer_id = register(uow)
    profile = {"skin_type": "sensitive", "concerns": ["redness"], "allergies": ["Limonene"]}
    run(uow, c.ChangeSkinProfile(customer_id, profile, WEB))
    assert uow.get(customer_id).skin["allergies"] == ["LIMONENE"]


def test_a_date_of_birth_in_the_future_is_refused() -> None:
    contact = {**CONTACT, "date_of_birth": date(2030, 1, 1)}
    with pytest.raises(InvalidCommandError):
        run(MemoryUnitOfWork(), c.RegisterCustomer(uuid.uuid4(), contact, (EMAIL,), WEB))


def test_an_unknown_consent_purpose_is_refused() -> None:
    uow = MemoryUnitOfWork()
    customer_id = register(uow)
    with pytest.raises(InvalidCommandError):
        run(uow, c.GrantConsent(customer_id, "telepathy", "v1", WEB))


def test_consent_is_granted_then_withdrawn_with_channel_and_text_version() -> None:
    uow = MemoryUnitOfWork()
    customer_id = register(uow)
    run(uow, c.GrantConsent(customer_id, "marketing_email", "v3", WEB))
    run(uow, c.WithdrawConsent(customer_id, "marketing_email", POS))
    customer: Customer = uow.get(customer_id)
    assert not customer.has_consent("marketing_email")
    assert customer.consents["marketing_email"]["text_version"] == "v3"
    assert customer.consents["marketing_email"]["channel"] == "pos"


def test_changing_the_email_frees_the_old_one() -> None:
    uow = MemoryUnitOfWork()
    customer_id = register(uow)
    new = claim("email", "elodie@new.example")
    run(uow, c.ChangeContactDetails(customer_id, {"email": "elodie@new.example"}, (new,), WEB))
    assert uow.get(EMAIL.identity_id).customer_id is None
    assert uow.get(new.identity_id).customer_id == customer_id


def test_a_merge_keeps_both_histories_and_redirects_the_old_id() -> None:
    uow = MemoryUnitOfWork()
    source, target = register(uow, EMAIL), register(uow, PHONE)
    run(uow, c.MergeCustomers(source, target, WEB))
    assert uow.get(source).merged_into == target
    assert uow.get(EMAIL.identity_id).customer_id == target
    answer = run(uow, c.AddToWishlist(source, "SERUM-30", WEB))
    assert answer.body["customer_id"] == str(target)
    assert uow.get(target).wishlist == ["SERUM-30"]
    assert len(uow.history[source]) >= 2 and len(uow.history[target]) >= 2


def test_forgetting_erases_personal_data_frees_identities_and_refuses_new_facts() -> None:
    uow = MemoryUnitOfWork()
    customer_id = register(uow, EMAIL, PHONE)
    run(uow, c.GiveFeedback(customer_id, "SERUM-30", 4, "stings a little", WEB))
    answer = run(uow, c.ForgetCustomer(customer_id, WEB))
    assert answer.body["forgotten"] == [str(customer_id)]
    customer: Customer = uow.get(customer_id)
    assert customer.forgotten and customer.contact == {} and customer.feedback[0]["comment"] is None
    assert isinstance(uow.get(EMAIL.identity_id), IdentityKey)
    assert uow.get(EMAIL.identity_id).customer_id is None
    with pytest.raises(CustomerForgottenError):
        run(uow, c.GrantConsent(customer_id, "analytics", "v1", WEB))


def test_registering_again_after_being_forgotten_makes_a_new_customer() -> None:
    uow = MemoryUnitOfWork()
    old = register(uow)
    run(uow, c.ForgetCustomer(old, WEB))
    new = register(uow)
    assert new != old and uow.get(EMAIL.identity_id).customer_id == new


def test_forgetting_a_survivor_forgets_everyone_merged_into_it() -> None:
    uow = MemoryUnitOfWork()
    source, target = register(uow, EMAIL), register(uow, PHONE)
    run(uow, c.MergeCustomers(source, target, WEB))
    answer = run(uow, c.ForgetCustomer(source, WEB))  # the old id redirects to the survivor
    assert sorted(answer.body["forgotten"]) == sorted([str(source), str(target)])
    assert uow.get(source).forgotten and uow.get(target).forgotten


def test_an_id_that_names_no_customer_is_unknown() -> None:
    uow = MemoryUnitOfWork()
    register(uow)
    with pytest.raises(UnknownCustomerError):
        run(uow, c.AddToWishlist(EMAIL.identity_id, "X", WEB))


def test_a_replay_with_personal_data_missing_marks_the_facts_erased() -> None:
    customer = Customer.register(uuid.uuid4(), CONTACT, WEB)
    customer.change_skin_profile({"skin_type": "dry"}, WEB)
    events = customer.collect_events()
    for event in events:
        object.__setattr__(event, "personal", None)  # as the mapper returns them without a key
    replayed = None
    for event in events:
        replayed = event.mutate(replayed)
    assert isinstance(replayed, Customer)
    assert replayed.erased and replayed.contact == {} and replayed.skin == {}


CONTACTS = [claim("email", f"p{n}@example.com") for n in range(3)] + [
    claim("phone", f"+3361234567{n}") for n in range(3)
]
MATCHINGS = [c.Matching(), ADMIN, c.Matching(verification="id-document")]


@given(
    st.lists(
        st.tuples(
            st.lists(st.sampled_from(CONTACTS), min_size=1, max_size=2, unique=True),
            st.sampled_from(MATCHINGS),
        ),
        max_size=12,
    )
)
def test_only_a_verified_registration_changes_an_existing_customer_and_keys_stay_consistent(
    registrations: list[tuple[list[c.IdentityClaim], c.Matching]],
) -> None:
    uow = MemoryUnitOfWork()
    for claims, matching in registrations:
        existing = {cid: dict(uow.get(cid).identities) for cid in _customers(uow)}
        try:
            answer = run(
                uow, c.RegisterCustomer(uuid.uuid4(), CONTACT, tuple(claims), WEB, matching)
            )
        except (VerificationRequiredError, IdentityConflictError) as refused:
            assert matching.sees_customer or "customers" not in refused.details  # names no one
            continue
        named = uuid.UUID(answer.body["customer_id"])
        if matching.verification is None:
            assert {cid: uow.get(cid).identities for cid in existing} == existing
            assert named not in existing or matching.sees_customer
    for key_id in [claim.identity_id for claim in CONTACTS if claim.identity_id in uow.aggregates]:
        owner = uow.get(key_id).customer_id
        holders = [cid for cid in _customers(uow) if str(key_id) in uow.get(cid).identities]
        assert holders == ([owner] if owner else [])


def _customers(uow: MemoryUnitOfWork) -> list[uuid.UUID]:
    return [cid for cid, found in uow.aggregates.items() if isinstance(found, Customer)]
