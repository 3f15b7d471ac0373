"""A till's journal sent as one JSON array is cut into its elements as it arrives, whatever
its strings hold (escaped quotes, backslashes, brackets, commas) and wherever the chunks end."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson
from hypothesis import given
from hypothesis import strategies as st

from api.journal_reading import journal_lines


def read(body: bytes, cut: int) -> list[bytes]:
    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), cut):
            yield body[start : start + cut]

    async def lines() -> list[bytes]:
        return [line async for line in journal_lines(chunks())]

    return asyncio.run(lines())


def test_an_escaped_quote_in_a_string_does_not_swallow_the_lines_after_it() -> None:
    body = rb'[{"seq": 1, "note": "a \" b"}, {"seq": 2}]'
    assert [orjson.loads(line) for line in read(body, 7)] == [
        {"seq": 1, "note": 'a " b'},
        {"seq": 2},
    ]


def test_a_string_ending_in_a_backslash_ends_where_its_quote_does() -> None:
    body = rb'[{"seq": 1, "note": "a \\"}, {"seq": 2}]'
    assert [orjson.loads(line) for line in read(body, 3)] == [
        {"seq": 1, "note": "a \\"},
        {"seq": 2},
    ]


@given(
    notes=st.lists(st.text(alphabet='ab"\\,[]{} \n', max_size=12), min_size=1, max_size=8),
    cut=st.integers(min_value=1, max_value=40),
)
def test_every_element_of_an_array_comes_out_whole_and_in_order(notes: list[str], cut: int) -> None:
    elements = [{"seq": n, "note": note} for n, note in enumerate(notes, start=1)]
    assert [orjson.loads(line) for line in read(orjson.dumps(elements), cut)] == elements
