"""The id ranges a rebuild's readers take: all of (after, head], in order, without overlap, in
a multiple of the readers (each reader as many), about a page each."""

from __future__ import annotations

import itertools

import pytest

from streams.page_feed import page_ranges


@pytest.mark.parametrize(
    ("after", "head", "readers", "page"),
    [(0, 22_106, 2, 4_000), (500, 1_000_000, 4, 4_000), (7, 10, 3, 4_000), (0, 2, 4, 10)],
)
def test_the_ranges_cover_the_log_once_in_order(
    after: int, head: int, readers: int, page: int
) -> None:
    ranges = page_ranges(after, head, readers, page)
    assert ranges[0][0] == after and ranges[-1][1] == head
    assert all(left[1] == right[0] for left, right in itertools.pairwise(ranges))
    assert all(start < stop <= start + page for start, stop in ranges)


def test_every_reader_gets_as_many_ranges_when_the_log_is_long_enough() -> None:
    ranges = page_ranges(0, 22_106, 2, 4_000)
    assert len(ranges) == 6
    assert {stop - start for start, stop in ranges} <= {3_684, 3_685}
