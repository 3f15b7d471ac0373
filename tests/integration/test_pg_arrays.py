"""The writer's hand-built binary arrays read back on PostgreSQL exactly as psycopg's own."""

from __future__ import annotations

import uuid

import psycopg
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.pg_arrays import bytea_array, int4_array, int8_array, text_array, uuid_array
from tests.e2e.conftest import POSTGRES_URL

# PostgreSQL text holds neither NUL nor lone surrogates (which UTF-8 cannot encode).
TEXT = st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=40)
SELECT = "SELECT %b::uuid[], %b::int8[], %b::int4[], %b::text[], %b::bytea[]"


@settings(max_examples=60, deadline=None)
@given(
    ids=st.lists(st.uuids(), max_size=12),
    big=st.lists(st.integers(-(2**63), 2**63 - 1), max_size=12),
    small=st.lists(st.integers(-(2**31), 2**31 - 1), max_size=12),
    texts=st.lists(TEXT, max_size=12),
    blobs=st.lists(st.binary(max_size=64), max_size=12),
)
def test_every_array_reads_back_as_sent(
    ids: list[uuid.UUID], big: list[int], small: list[int], texts: list[str], blobs: list[bytes]
) -> None:
    sent = (
        uuid_array(ids),
        int8_array(big),
        int4_array(small),
        text_array(texts),
        bytea_array(blobs),
    )
    with psycopg.connect(POSTGRES_URL) as conn:
        got = conn.execute(SELECT, sent).fetchone()
        library = conn.execute(SELECT, (ids, big, small, texts, blobs)).fetchone()
    assert got == library == (ids, big, small, texts, blobs)


def test_uuids_given_as_text_are_sent_as_uuids() -> None:
    given_id = uuid.uuid4()
    with psycopg.connect(POSTGRES_URL) as conn:
        row = conn.execute("SELECT %b::uuid[]", (uuid_array([str(given_id)]),)).fetchone()
    assert row == ([given_id],)
