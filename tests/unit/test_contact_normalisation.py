"""Emails and phone numbers that name one mailbox or one line normalise to one key."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidContactError
from privacy.contacts import normalise_email, normalise_phone

LOCAL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=20)
TAG = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=10)
DOMAIN = st.sampled_from(["example.com", "boutique.fr", "mail.co.uk"])


def test_case_and_surrounding_space_do_not_matter() -> None:
    assert normalise_email("  Jane.Doe@Example.COM ") == "jane.doe@example.com"


def test_a_plus_tag_is_dropped() -> None:
    assert normalise_email("jane+newsletter@example.com") == "jane@example.com"


def test_dots_are_dropped_only_where_the_provider_ignores_them() -> None:
    assert normalise_email("J.a.n.e@googlemail.com") == "jane@gmail.com"
    assert normalise_email("j.ane@example.com") == "j.ane@example.com"


@pytest.mark.parametrize(
    "raw",
    [
        "JANE+x@EXAMPLE.COM",
        "\uff4a\uff41\uff4e\uff45@example.com",
        "\uff2a\uff41\uff4e\uff45+\uff54\uff41\uff47@\uff25\uff38\uff21\uff2d\uff30\uff2c\uff25.com",
        "\tjane@example.com\n",
    ],
)
def test_every_way_of_writing_one_mailbox_gives_one_key(raw: str) -> None:
    assert normalise_email(raw) == "jane@example.com"


def test_an_internationalised_domain_is_one_key_in_either_spelling() -> None:
    assert normalise_email("jane@xn--exmple-cua.com") == normalise_email("JANE@EXÄMPLE.com")


@pytest.mark.parametrize(
    "raw",
    [
        "+33 6 47 19 02 83",
        "0647190283",
        "0033647190283",
        "+33 (0)6 47 19 02 83",
        "tel:+33-6-47-19-02-83",
        "\uff10\uff16\uff14\uff17\uff11\uff19\uff10\uff12\uff18\uff13",
        "+33 6 47 19 02 83 ext. 12",
    ],
)
def test_every_way_of_writing_one_line_gives_one_key(raw: str) -> None:
    assert normalise_phone(raw) == "+33647190283"


@pytest.mark.parametrize(
    "raw",
    ["", "jane", "jane@", "@example.com", "jane@@example.com", "ja ne@example.com", "+x@a.com"],
)
def test_an_invalid_email_is_refused(raw: str) -> None:
    with pytest.raises(InvalidContactError):
        normalise_email(raw)


@given(local=LOCAL, tag=TAG, domain=DOMAIN, upper=st.booleans())
def test_any_tagged_or_recased_spelling_gives_the_plain_address(
    local: str, tag: str, domain: str, upper: bool
) -> None:
    spelled = f"{local}+{tag}@{domain}"
    spelled = spelled.upper() if upper else spelled
    assert normalise_email(spelled) == f"{local}@{domain}"


@given(local=LOCAL, dots=st.lists(st.integers(min_value=0, max_value=19), max_size=4))
def test_dots_anywhere_in_a_gmail_address_give_the_same_key(local: str, dots: list[int]) -> None:
    dotted = list(local)
    for position in sorted(set(dots), reverse=True):
        if 0 < position < len(dotted):
            dotted.insert(position, ".")
    assert normalise_email("".join(dotted) + "@gmail.com") == f"{local}@gmail.com"


@given(raw=st.text(max_size=40))
def test_normalising_an_email_is_idempotent_or_refuses(raw: str) -> None:
    try:
        once = normalise_email(raw)
    except InvalidContactError:
        return
    assert normalise_email(once) == once


@pytest.mark.parametrize(
    "raw",
    ["06 12 34 56 78", "06.12.34.56.78", "+33 6 12 34 56 78", "0033612345678", "+33612345678"],
)
def test_local_and_international_forms_give_one_e164_number(raw: str) -> None:
    assert normalise_phone(raw) == "+33612345678"


def test_a_local_number_is_read_in_the_given_region() -> None:
    assert normalise_phone("020 7946 0958", "gb") == "+442079460958"


@pytest.mark.parametrize("raw", ["", "hello", "12", "+33 1", "06 12 34 56 78 90 12"])
def test_an_invalid_phone_is_refused(raw: str) -> None:
    with pytest.raises(InvalidContactError):
        normalise_phone(raw)


@given(
    block=st.integers(min_value=10, max_value=38),
    subscriber=st.integers(min_value=0, max_value=999_999),
)
def test_french_mobiles_in_any_form_agree(block: int, subscriber: int) -> None:
    national = f"06{block}{subscriber:06d}"
    spaced = " ".join(national[i : i + 2] for i in range(0, 10, 2))
    international = "+33 " + national[1:]
    assert normalise_phone(national) == normalise_phone(spaced) == normalise_phone(international)
    assert normalise_phone(national).startswith("+336")
