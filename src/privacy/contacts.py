"""Normal forms of emails and phone numbers: the keys that identify a customer across channels.

Two spellings of one mailbox or one line normalise to the same string, so their keyed identity
ids match (privacy.pseudonyms).
"""

from __future__ import annotations

import unicodedata

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from domain.errors import InvalidContactError

# Providers that ignore dots in the local part; googlemail.com is the same mailbox as gmail.com.
DOT_BLIND_DOMAINS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}
DEFAULT_REGION = "FR"


def normalise_email(raw: str) -> str:
    """Lower case, without a +tag; without dots where the provider ignores them; compatibility
    forms folded (fullwidth letters are their plain ones), as IDNA already folds the domain."""
    try:
        parsed = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidContactError(
            f"{raw!r} is not an email address: {error}", field="email"
        ) from None
    local = unicodedata.normalize("NFKC", parsed.local_part).casefold()
    domain = parsed.domain.lower()
    local = local.split("+", 1)[0]
    if domain in DOT_BLIND_DOMAINS:
        local, domain = local.replace(".", ""), DOT_BLIND_DOMAINS[domain]
    if not local:
        raise InvalidContactError(f"{raw!r} has no mailbox before its +tag", field="email")
    return f"{local}@{domain}"


def normalise_phone(raw: str, region: str = DEFAULT_REGION) -> str:
    """E.164 (+33612345678); a number without a country code is read in `region`."""
    try:
        number = phonenumbers.parse(raw, region.upper())
    except phonenumbers.NumberParseException as error:
        raise InvalidContactError(
            f"{raw!r} is not a phone number: {error}", field="phone"
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidContactError(
            f"{raw!r} is not a valid phone number (read in region {region.upper()}); "
            "give it with its country code, e.g. +33 6 12 34 56 78",
            field="phone",
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_postcode(raw: str) -> str:
    return "".join(raw.split()).upper()
