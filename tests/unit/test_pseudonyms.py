"""Keyed pseudonyms: stable under one secret, unrelated under another, never the public uuid5."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from privacy.pseudonyms import KEYED_FINGERPRINT, Pseudonyms, legacy_identity_id

ONE, OTHER = Pseudonyms.from_secret(b"a" * 32), Pseudonyms.from_secret(b"b" * 32)
PHONES = st.integers(min_value=600000000, max_value=799999999).map(lambda n: f"+33{n}")


@given(PHONES)
def test_an_identity_id_is_a_keyed_uuid8_that_only_the_secret_reproduces(phone: str) -> None:
    keyed = ONE.identity_id("phone", phone)
    assert keyed == ONE.identity_id("phone", phone) and keyed.version == 8
    assert keyed != OTHER.identity_id("phone", phone)
    assert keyed != legacy_identity_id("phone", phone)
    assert keyed != ONE.identity_id("email", phone)


def test_a_fingerprint_recognises_its_body_and_differs_from_an_identity_id() -> None:
    body = {"name": "A", "email": "a@example.com"}
    print_ = ONE.fingerprint("POST", "/customers", body)
    assert print_.startswith(KEYED_FINGERPRINT)
    assert print_ == ONE.fingerprint("POST", "/customers", dict(reversed(body.items())))
    assert print_ != OTHER.fingerprint("POST", "/customers", body)
    assert ONE.identity_key != ONE.fingerprint_key
