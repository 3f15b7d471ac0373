"""The rules of a customer's survey answers and support contacts, each a named check raising a
named error.

A survey answer is a choice (option codes the survey defines, never free text), a scale (an
integer from 0 to 10) or a text; what the customer wrote is personal and travels only sealed.
A question may be mapped to a fact of the profile (`skin_concerns`, `preferences`): its
choices must then be the profile's own codes, so a stated concern is a concern the ledger
knows. A support contact names how, about what and with which outcome the customer was in
touch, and the agent by id; its notes are personal."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from domain.customer_rules import PREFERENCES, SKIN_CONCERNS
from domain.dating import require_plausible_occurrence
from domain.errors import BackdatedTooFarError, InvalidCommandError, OccurredInFutureError

ANSWER_KINDS = ("choice", "scale", "text")
PROFILE_FACTS = ("skin_concerns", "preferences")
SCALE_LOWEST, SCALE_HIGHEST = 0, 10
MAX_CHOICES = 20
MAX_ANSWER_TEXT = 2000
CHOICE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")

SUPPORT_CHANNELS = ("email", "phone", "chat", "store", "social")
SUPPORT_OUTCOMES = ("resolved", "follow-up", "escalated", "unresolved")
# A topic and an agent are codes (`order-delay`, `agent-0042`), never a sentence or a name:
# they stay readable after the customer is forgotten.
SUPPORT_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
MAX_NOTES = 4000
# A contact is logged after it happened: at most this long after, and never in the future.
SUPPORT_LOGGED_LATE = timedelta(days=90)
# Survey tools deliver within minutes and retry for a few days at most.
SURVEY_ANSWERED_LATE = timedelta(days=30)
CLOCK_SKEW = timedelta(minutes=5)

Answer = list[str] | int | str


def check_answer(kind: str, answer: Any) -> Answer:
    """The answer in its stored form: choices sorted and distinct, a scale's integer, a
    text stripped."""
    if kind == "choice":
        return _choices(answer)
    if kind == "scale":
        if isinstance(answer, bool) or not isinstance(answer, int):
            raise InvalidCommandError(
                f"a scale answer is an integer from {SCALE_LOWEST} to {SCALE_HIGHEST}"
            )
        if not SCALE_LOWEST <= answer <= SCALE_HIGHEST:
            raise InvalidCommandError(
                f"a scale answer is from {SCALE_LOWEST} to {SCALE_HIGHEST}, got {answer}"
            )
        return answer
    if kind == "text":
        text = answer.strip() if isinstance(answer, str) else ""
        if not text or len(text) > MAX_ANSWER_TEXT:
            raise InvalidCommandError(f"a text answer is 1 to {MAX_ANSWER_TEXT} characters of text")
        return text
    raise InvalidCommandError(
        f"unknown answer kind {kind!r}; expected one of {', '.join(ANSWER_KINDS)}"
    )


def _choices(answer: Any) -> list[str]:
    if not isinstance(answer, list) or not 1 <= len(answer) <= MAX_CHOICES:
        raise InvalidCommandError(f"a choice answer is a list of 1 to {MAX_CHOICES} option codes")
    bad = [
        str(code)[:70]
        for code in answer
        if not isinstance(code, str) or not CHOICE_CODE.match(code)
    ]
    if bad:
        raise InvalidCommandError(
            f"choice(s) {', '.join(map(repr, bad))} are not option codes: expected 1 to 64 "
            "letters, digits and . _ : - (the survey's option ids, never free text)"
        )
    return sorted(set(answer))


def stated_profile(maps_to: str, kind: str, answer: Answer) -> dict[str, Any]:
    """What a mapped answer states: `{"concerns": [...]}` or `{"vegan": True, ...}`."""
    if maps_to not in PROFILE_FACTS:
        raise InvalidCommandError(
            f"unknown profile fact {maps_to!r}; expected one of {', '.join(PROFILE_FACTS)}"
        )
    known = SKIN_CONCERNS if maps_to == "skin_concerns" else PREFERENCES
    if kind != "choice" or not isinstance(answer, list):
        raise InvalidCommandError(
            f"a question mapped to {maps_to} is a choice question whose options are "
            f"{', '.join(known)}; got a {kind} answer"
        )
    unknown = sorted(set(answer) - set(known))
    if unknown:
        raise InvalidCommandError(
            f"option(s) {', '.join(unknown)} of a question mapped to {maps_to} are not "
            f"known; expected {', '.join(known)}"
        )
    if maps_to == "skin_concerns":
        return {"concerns": sorted(answer)}
    return dict.fromkeys(sorted(answer), True)


def require_survey_answer_time(answered_at: datetime, recorded_at: datetime) -> None:
    """As any occurrence, and named as the survey tool names it (`answered_at`)."""
    try:
        require_plausible_occurrence(answered_at, recorded_at, SURVEY_ANSWERED_LATE, CLOCK_SKEW)
    except (BackdatedTooFarError, OccurredInFutureError) as error:
        details = {
            ("answered_at" if k == "occurred_at" else k): v for k, v in error.details.items()
        }
        message = error.message.replace("occurred_at", "answered_at")
        raise type(error)(message.replace("date a command", "date an answer"), **details) from None


def check_support_contact(
    contact_channel: str, topic: str, outcome: str, agent: str, notes: str | None
) -> str | None:
    """The notes in their stored form (None when empty)."""
    if contact_channel not in SUPPORT_CHANNELS:
        raise InvalidCommandError(
            f"unknown contact channel {contact_channel!r}; expected one of "
            f"{', '.join(SUPPORT_CHANNELS)}"
        )
    if outcome not in SUPPORT_OUTCOMES:
        raise InvalidCommandError(
            f"unknown outcome {outcome!r}; expected one of {', '.join(SUPPORT_OUTCOMES)}"
        )
    for name, value in (("topic", topic), ("agent", agent)):
        if not SUPPORT_CODE.match(value):
            raise InvalidCommandError(
                f"{name} {value[:70]!r} is not a code: expected 1 to 64 letters, digits and "
                ". _ : - (a topic code or an agent id, never a sentence or a name)"
            )
    text = (notes or "").strip()
    if len(text) > MAX_NOTES:
        raise InvalidCommandError(f"notes are at most {MAX_NOTES} characters, got {len(text)}")
    return text or None


def require_support_contact_time(occurred_at: datetime, recorded_at: datetime) -> None:
    require_plausible_occurrence(occurred_at, recorded_at, SUPPORT_LOGGED_LATE, CLOCK_SKEW)
