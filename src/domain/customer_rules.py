"""The rules a customer's facts must follow, each a named check raising a named error."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from domain.errors import InvalidCommandError

PURPOSES = ("marketing_email", "marketing_sms", "personalisation", "analytics", "partner_sharing")
SKIN_TYPES = ("dry", "oily", "combination", "normal", "sensitive")
SKIN_CONCERNS = (
    "acne",
    "ageing",
    "pigmentation",
    "redness",
    "dehydration",
    "dullness",
    "pores",
    "sensitivity",
)
PREFERENCES = ("fragrance_free", "vegan", "cruelty_free")
ADDRESS_FIELDS = ("line1", "line2", "city", "postcode", "region", "country")
# INCI names: letters, digits, spaces and - / ( ) . , ' as in "CI 77491" or "PEG-40 HYDROGENATED
# CASTOR OIL"; written in capitals, as on a label.
INCI_NAME = re.compile(r"^[A-Z0-9][A-Z0-9 \-/().,']{1,99}$")
MAX_AGE_YEARS = 130


def check_purpose(purpose: str) -> None:
    if purpose not in PURPOSES:
        raise InvalidCommandError(
            f"unknown consent purpose {purpose!r}; expected one of {', '.join(PURPOSES)}",
            purpose=purpose,
        )


def check_name(name: Any) -> None:
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise InvalidCommandError("a name must be 1 to 200 characters")


def check_date_of_birth(born: date, today: date) -> None:
    if born > today:
        raise InvalidCommandError(f"a date of birth cannot be in the future: {born.isoformat()}")
    if today.year - born.year > MAX_AGE_YEARS:
        raise InvalidCommandError(
            f"a date of birth more than {MAX_AGE_YEARS} years ago is a typo: {born.isoformat()}"
        )


def check_address(address: dict[str, Any]) -> None:
    unknown = set(address) - set(ADDRESS_FIELDS)
    if unknown:
        raise InvalidCommandError(
            f"unknown address field(s) {', '.join(sorted(unknown))}; "
            f"expected {', '.join(ADDRESS_FIELDS)}"
        )
    for name, value in address.items():
        if value is not None and (not isinstance(value, str) or len(value) > 200):
            raise InvalidCommandError(f"address {name} must be text of at most 200 characters")


def check_skin_profile(profile: dict[str, Any]) -> dict[str, Any]:
    """The profile in its stored form: known skin type and concerns, INCI names in capitals."""
    skin_type = profile.get("skin_type")
    if skin_type is not None and skin_type not in SKIN_TYPES:
        raise InvalidCommandError(
            f"unknown skin type {skin_type!r}; expected one of {', '.join(SKIN_TYPES)}"
        )
    concerns = list(profile.get("concerns") or [])
    unknown = sorted(set(concerns) - set(SKIN_CONCERNS))
    if unknown:
        raise InvalidCommandError(
            f"unknown skin concern(s) {', '.join(unknown)}; expected {', '.join(SKIN_CONCERNS)}"
        )
    allergies = [_inci(name) for name in profile.get("allergies") or []]
    return {"skin_type": skin_type, "concerns": sorted(set(concerns)), "allergies": allergies}


def check_preferences(preferences: dict[str, bool]) -> dict[str, bool]:
    unknown = sorted(set(preferences) - set(PREFERENCES))
    if unknown:
        raise InvalidCommandError(
            f"unknown preference(s) {', '.join(unknown)}; expected {', '.join(PREFERENCES)}"
        )
    return {name: bool(value) for name, value in preferences.items()}


def check_rating(rating: int) -> None:
    if not 1 <= rating <= 5:
        raise InvalidCommandError(f"a rating is 1 to 5 stars, got {rating}")


def _inci(name: str) -> str:
    spelled = " ".join(str(name).split()).upper()
    if not INCI_NAME.match(spelled):
        raise InvalidCommandError(
            f"{name!r} is not an INCI name (letters, digits, spaces, - / ( ) . , ' only)"
        )
    return spelled
