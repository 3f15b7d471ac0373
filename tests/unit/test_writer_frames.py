"""The writer process's frames: whatever way the socket splits them, each arrives whole,
in order, and a burst holds every frame that had arrived."""

from __future__ import annotations

import pickle
import socket
import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from service_layer.writer_frames import FrameReader, send_frame

MESSAGES = st.lists(
    st.lists(st.tuples(st.integers(0, 2**40), st.text(max_size=300)), max_size=5),
    min_size=1,
    max_size=12,
)


def framed(message: object) -> bytes:
    payload = pickle.dumps(message)
    return struct.pack(">I", len(payload)) + payload


@settings(max_examples=80, deadline=None)
@given(messages=MESSAGES, cuts=st.lists(st.integers(1, 64), min_size=1, max_size=40))
def test_frames_cut_anywhere_arrive_whole_and_in_order(
    messages: list[object], cuts: list[int]
) -> None:
    frames = [framed(m) for m in messages]
    ends = [sum(len(f) for f in frames[: n + 1]) for n in range(len(frames))]
    stream = b"".join(frames)
    # Cuts scale with the largest frame: a frame sent a byte at a time is thousands of socket
    # buffers the reader does not drain until the frame is whole, which fills the socket's
    # send budget and blocks the test for ever (small frames are still cut byte by byte).
    unit = max(1, max(len(f) for f in frames) // 128)
    left, right = socket.socketpair()
    with left, right:
        reader = FrameReader(right)
        received: list[object] = []
        position = 0
        for cut in [cut * unit for cut in cuts] * (len(stream) // (sum(cuts) * unit) + 1):
            if position >= len(stream):
                break
            left.sendall(stream[position : position + cut])
            position += cut
            if len(received) < len(messages) and position >= ends[len(received)]:
                burst = reader.burst()  # a whole frame is there: it must not wait
                assert burst is not None
                received += burst
                assert len(received) == sum(end <= position for end in ends)
        left.shutdown(socket.SHUT_WR)
        while (burst := reader.burst()) is not None:
            received += burst
    assert received == messages


def test_a_burst_holds_every_frame_already_sent_and_none_means_closed() -> None:
    left, right = socket.socketpair()
    with left, right:
        for n in range(3):
            send_frame(left, [n])
        reader = FrameReader(right)
        assert reader.burst() == [[0], [1], [2]]
        send_frame(left, ["last"])
        left.shutdown(socket.SHUT_WR)
        assert reader.burst() == [["last"]]
        assert reader.burst() is None
