"""The stream worker's watermark: every event at or below it is applied, although partitions
deliver out of log order with one another."""

from __future__ import annotations

from streams.stream_projector import Watermark


def test_a_partition_with_messages_left_holds_the_watermark_at_its_last_position() -> None:
    mark = Watermark()
    mark.advance("a", 10)
    mark.advance("b", 4)
    mark.advance("a", 12)
    assert mark.position(pending=["a", "b"], relay_position=20) == 4
    assert mark.position(pending=["a"], relay_position=20) == 12


def test_an_unread_partition_with_messages_holds_the_watermark_at_zero() -> None:
    mark = Watermark()
    mark.advance("a", 10)
    assert mark.position(pending=["c"], relay_position=20) == 0


def test_with_nothing_left_to_read_the_watermark_is_the_relay_position() -> None:
    mark = Watermark()
    mark.advance("a", 10)
    assert mark.position(pending=[], relay_position=11) == 11
    assert mark.position(pending=[], relay_position=None) == 10


def test_a_republished_partition_lowers_its_own_position() -> None:
    mark = Watermark()
    mark.advance("a", 10)
    mark.advance("a", 3)  # the relay re-published from an earlier position
    assert mark.position(pending=["a"], relay_position=20) == 3
