"""What the feedback reads answer: a customer's support contacts and survey answers, with the
personal parts (notes, answers) shown only to a reader allowed to see them, "[redacted]" to
others and "[erased]" once the customer is forgotten (their key is gone)."""

from __future__ import annotations

from typing import Any

from domain.customer import Customer

ERASED, REDACTED = "[erased]", "[redacted]"


def support_contacts(people: list[Customer], *, with_notes: bool) -> list[dict[str, Any]]:
    """The contacts of a customer and of those merged into them, oldest first."""
    contacts = [
        {**item, "customer_id": str(person.id), "notes": _shown(person, item["notes"], with_notes)}
        for person in people
        for item in person.support_contacts
    ]
    return sorted(contacts, key=lambda item: str(item["occurred_at"]))


def survey_answers(people: list[Customer], *, with_answers: bool) -> list[dict[str, Any]]:
    answers = [
        {
            **item,
            "customer_id": str(person.id),
            "answer": _shown(person, item["answer"], with_answers),
            "maps_to": item["maps_to"] if with_answers and not person.forgotten else None,
        }
        for person in people
        for item in person.survey_answers
    ]
    return sorted(answers, key=lambda item: str(item["answered_at"]))


def _shown(person: Customer, value: Any, allowed: bool) -> Any:
    if person.forgotten:
        return ERASED
    return value if allowed else REDACTED
