"""Request bodies of the feedback routes: a survey tool's answer (by signed webhook) and a
support contact. Codes are codes (ids of surveys, questions, options, topics, agents), never
free text; the text a person wrote is only ever an answer of kind `text` or a contact's
notes, both sealed in the customer's event."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field, StringConstraints, model_validator

from api.models import Body

FeedbackCode = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"),
]
AnonymousId = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
]
Channel = Literal["web", "app", "pos", "marketplace", "backoffice"]
ChoiceAnswer = Annotated[list[FeedbackCode], Field(min_length=1, max_length=20)]
ScaleAnswer = Annotated[int, Field(ge=0, le=10, strict=True)]
TextAnswer = Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class SurveyAnswerIn(Body):
    survey_id: FeedbackCode
    question_id: FeedbackCode
    question_kind: Literal["choice", "scale", "text"]
    answer: ChoiceAnswer | ScaleAnswer | TextAnswer = Field(
        description="choice: a list of option codes; scale: an integer 0 to 10; text: what "
        "the person wrote (kept only sealed, for an identified customer)"
    )
    customer_id: UUID | None = Field(None, description="The customer who answered, if known")
    anonymous_id: AnonymousId | None = Field(
        None, description="Without a customer: the answer is only counted (never its text)"
    )
    answered_at: AwareDatetime = Field(
        description="When the person answered (ISO 8601 with an offset); at most 30 days ago"
    )
    maps_to: Literal["skin_concerns", "preferences"] | None = Field(
        None,
        description="The profile fact a choice question states (its options are the "
        "profile's codes); applied only while the customer's personalisation consent is "
        "granted",
    )
    channel: Channel = "web"

    @model_validator(mode="after")
    def _answer_fits_its_kind(self) -> SurveyAnswerIn:
        expected = {"choice": list, "scale": int, "text": str}[self.question_kind]
        if not isinstance(self.answer, expected):
            shape = {
                "choice": "a list of option codes",
                "scale": "an integer from 0 to 10",
                "text": "a text of 1 to 2000 characters",
            }[self.question_kind]
            raise ValueError(f"a {self.question_kind} question's answer is {shape}")
        if self.customer_id is None and self.anonymous_id is None:
            raise ValueError("name who answered: customer_id, or anonymous_id when unknown")
        return self


class SupportContactIn(Body):
    contact_id: FeedbackCode | None = Field(
        None, description="The contact's id in the support tool; made by the ledger if absent"
    )
    channel: Literal["email", "phone", "chat", "store", "social"]
    topic: FeedbackCode = Field(description="A topic code, e.g. order-delay (never a sentence)")
    outcome: Literal["resolved", "follow-up", "escalated", "unresolved"]
    agent: FeedbackCode = Field(description="The agent's id, never their name")
    occurred_at: AwareDatetime = Field(description="When the contact happened (90 days back)")
    notes: Annotated[str, StringConstraints(max_length=4000)] | None = Field(
        None, description="What was said: personal, sealed with the customer's key"
    )


def utc(moment: datetime) -> datetime:
    """An aware datetime as UTC, as every trace records it."""
    return moment.astimezone(UTC)
