"""Survey answers and support contacts on the customer: a mapped answer changes the profile only
with the personalisation consent granted at that moment; every answer and note is erased by
forget; bad answers and contacts are refused without an event."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.unit.memory_uow import MemoryUnitOfWork
from tests.unit.test_customers import NOW, WEB, register, run

from domain import customer_commands as c
from domain.customer import Customer
from domain.customer_rules import SKIN_CONCERNS
from domain.errors import (
    AlreadyExistsError,
    BackdatedTooFarError,
    CustomerForgottenError,
    InvalidCommandError,
    OccurredInFutureError,
)
from recommender.customer_signals import CustomerFold, facts_of


def answer(
    customer_id: uuid.UUID,
    kind: str,
    value: Any,
    maps_to: str | None = None,
    answered_at: timedelta = timedelta(0),
) -> c.AnswerSurvey:
    trace = WEB.at(NOW - answered_at)
    return c.AnswerSurvey(customer_id, "S-1", "Q-1", kind, value, maps_to, trace, NOW)


def contact(
    customer_id: uuid.UUID, notes: str | None = "asked about her parcel"
) -> c.RecordSupportContact:
    return c.RecordSupportContact(
        customer_id, "C-1", "phone", "order-delay", "resolved", "agent-7", notes, WEB, NOW
    )


def grant_personalisation(uow: MemoryUnitOfWork, customer_id: uuid.UUID) -> None:
    run(uow, c.GrantConsent(customer_id, "personalisation", "v1", WEB))


def customer(uow: MemoryUnitOfWork, customer_id: uuid.UUID) -> Customer:
    found = uow.aggregates.get(customer_id)
    assert isinstance(found, Customer)
    return found


def test_stated_concerns_join_the_profile_only_with_the_personalisation_consent() -> None:
    uow = MemoryUnitOfWork()
    customer_id = register(uow)
    run(uow, c.ChangeSkinProfile(customer_id, {"skin_type": "dry", "concerns": ["acne"]}, WEB))

    refused = run(uow, answer(customer_id, "choice", ["redness"], "skin_concerns"))
    assert refused.body["profile"] == "unchanged-no-consent"
    assert customer(uow, customer_id).skin["concerns"] == ["acne"]

    grant_personalisation(uow, customer_id)
    taken = run(uow, answer(customer_id, "choice", ["redness", "pores"], "skin_concerns"))
    assert taken.body["profile"] == "updated"
    assert customer(uow, customer_id).skin == {
        "skin_type": "dry",
        "concerns": ["acne", "pores", "redness"],
        "allergies": [],
    }
    assert [a["answer"] for a in customer(uow, customer_id).survey_answers] == [
        ["redness"],
        ["pores", "redness"],
    ]


def test_stated_preferences_are_set_with_consent_and_an_unmapped_answer_changes_nothing() -> None:
    uow = MemoryUnitOfWork()
    customer_id = register(uow)
    grant_personalisation(uow, customer_id)
    assert run(uow, answer(customer_id, "scale", 9)).body["profile"] == "not-mapped"
    assert customer(uow, customer_id).preferences == {}
    run(uow, answer(customer_id, "choice", ["vegan"], "preferences"))
    assert customer(uow, customer_id).preferences == {"vegan": True}


@pytest.mark.parametrize(
    "kind,value,maps_to",
    [
        ("choice", [], None),
        ("choice", ["a sentence with spaces"], None),
        ("scale", 11, None),
        ("scale", True, None),
        ("text", "   ", None),
        ("text", "x" * 2001, None),
        ("rating", 3, None),
        ("choice", ["glitter"], "skin_concerns"),
        ("text", "acne", "skin_concerns"),
        ("choice", ["vegan"], "skin_type"),
    ],
)
def test_a_bad_answer_is_refused_and_records_nothing(
    kind: str, value: Any, maps_to: str | None
) -> None:
    uow = MemoryUnitOfWork()
    customer_id = register(uow)
    version = customer(uow, customer_id).version
    with pytest.raises(InvalidCommandError):
        run(uow, answer(customer_id, kind, value, maps_to))
    assert customer(uow, customer_id).version == version


def test_an_answer_dated_too_long_ago_or_in_the_future_is_refused() -> None:
    uow = MemoryUnitOfWork()
    customer_id = register(uow)
    with pytest.raises(BackdatedTooFarError):
        run(uow, answer(customer_id, "scale", 3, answered_at=timedelta(days=31)))
    with pytest.raises(OccurredInFutureError):
        run(uow, answer(customer_id, "scale", 3, answered_at=-timedelta(hours=1)))


def test_a_support_contact_is_recorded_once_and_refused_after_forget() -> None:
    uow = MemoryUnitOfWork()
    customer_id = register(uow)
    assert run(uow, contact(customer_id)).created
    with pytest.raises(AlreadyExistsError):
        run(uow, contact(customer_id))
    (recorded,) = customer(uow, customer_id).support_contacts
    assert recorded["notes"] == "asked about her parcel" and recorded["agent"] == "agent-7"
    run(uow, c.ForgetCustomer(customer_id, WEB))
    assert customer(uow, customer_id).support_contacts[0]["notes"] is None
    with pytest.raises(CustomerForgottenError):
        run(uow, answer(customer_id, "text", "hello"))


@pytest.mark.parametrize(
    "field,value",
    [("contact_channel", "fax"), ("outcome", "happy"), ("topic", "she was upset"), ("agent", "")],
)
def test_a_bad_support_contact_is_refused(field: str, value: str) -> None:
    uow = MemoryUnitOfWork()
    customer_id = register(uow)
    bad = c.RecordSupportContact(
        **{**vars(contact(customer_id)), field: value}  # type: ignore[arg-type]
    )
    with pytest.raises(InvalidCommandError):
        run(uow, bad)
    assert customer(uow, customer_id).support_contacts == []


ANSWERS = st.one_of(
    st.tuples(st.just("choice"), st.lists(st.sampled_from(SKIN_CONCERNS), min_size=1, max_size=4)),
    st.tuples(st.just("scale"), st.integers(0, 10)),
    st.tuples(st.just("text"), st.text(min_size=1, max_size=50).filter(str.strip)),
)


@given(
    answers=st.lists(st.tuples(ANSWERS, st.booleans()), min_size=1, max_size=6),
    consents=st.lists(st.booleans(), min_size=6, max_size=6),
)
def test_the_profile_holds_the_concerns_stated_while_consented_and_forget_erases_answers(
    answers: list[tuple[tuple[str, Any], bool]], consents: list[bool]
) -> None:
    uow = MemoryUnitOfWork()
    customer_id = register(uow)
    expected: set[str] = set()
    for ((kind, value), mapped), consented in zip(answers, consents, strict=False):
        purpose = c.GrantConsent if consented else c.WithdrawConsent
        args = (
            (customer_id, "personalisation", "v1")
            if consented
            else (customer_id, "personalisation")
        )
        run(uow, purpose(*args, WEB))  # type: ignore[arg-type]
        maps_to = "skin_concerns" if mapped and kind == "choice" else None
        outcome = run(uow, answer(customer_id, kind, value, maps_to)).body["profile"]
        if maps_to is not None and consented:
            expected |= set(value)
        assert outcome == (
            "not-mapped" if maps_to is None else "updated" if consented else "unchanged-no-consent"
        )
    person = customer(uow, customer_id)
    assert set(person.skin.get("concerns") or ()) == expected
    assert len(person.survey_answers) == len(answers)

    run(uow, c.ForgetCustomer(customer_id, WEB))
    person = customer(uow, customer_id)
    assert all(a["answer"] is None for a in person.survey_answers) and person.skin == {}


def test_the_recommender_sees_survey_concerns_only_as_the_consented_profile_took_them() -> None:
    """The fold (a model trained later) and the live facts (a request served now) read the
    profile change a consented survey answer made; an answer given without consent adds
    nothing, even once the consent is granted afterwards."""
    consented, refused = (Customer.register(uuid.uuid4(), {"name": "A"}, WEB) for _ in "ab")
    consented.grant_consent("personalisation", "v1", WEB)
    for person in (consented, refused):
        person.answer_survey("S-1", "Q-1", "choice", ["pigmentation"], "skin_concerns", WEB, NOW)
    refused.grant_consent("personalisation", "v1", WEB)
    fold = CustomerFold()
    for person in (consented, refused):
        for event in person.collect_events():
            fold.take(event, {})
    assert fold.customers[str(consented.id)].concerns == ("pigmentation",)
    assert fold.customers[str(refused.id)].concerns == ()
    assert facts_of(consented).concerns == ("pigmentation",)
    assert facts_of(refused).concerns == ()
