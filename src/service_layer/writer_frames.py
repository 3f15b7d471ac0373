"""The writer process's frames: length-prefixed pickles over a Unix socket, read a whole
burst at a time. The API process sends the commands an event-loop iteration collected in one
frame; the writer answers a whole commit group in one frame.

Only our own two processes speak on such a socket: it lives in a directory only this user
can open (mkdtemp, 0700) and accepts exactly one connection.
"""

from __future__ import annotations

import pickle
import socket
import struct
from typing import Any

from domain.commands import Command
from service_layer.writer import Outcome

_LENGTH = struct.Struct(">I")


def send_frame(sock: socket.socket, message: Any) -> None:
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(_LENGTH.pack(len(payload)) + payload)


class FrameReader:
    """Messages off a socket a whole burst at a time: waits for the first complete one, then
    takes every one that has arrived meanwhile, without waiting again."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = bytearray()
        self._closed = False

    def burst(self, wait: bool = True) -> list[Any] | None:
        """The next burst of messages (without `wait`, perhaps none); None once the other
        side has closed."""
        messages = self._complete()
        while not messages and wait:
            if self._closed or not self._receive(0):
                return None
            messages = self._complete()
        while not self._closed and self._receive(socket.MSG_DONTWAIT):
            messages += self._complete()
        if not messages and self._closed:
            return None
        return messages

    def _receive(self, flags: int) -> bool:
        try:
            chunk = self._sock.recv(1 << 20, flags)
        except BlockingIOError:
            return False
        if not chunk:
            self._closed = True
            return False
        self._buffer += chunk
        return True

    def _complete(self) -> list[Any]:
        messages = []
        buffer, start, end = self._buffer, 0, len(self._buffer)
        while end - start >= _LENGTH.size:
            (length,) = _LENGTH.unpack_from(buffer, start)
            first = start + _LENGTH.size
            if end - first < length:
                break
            # Our own process's bytes (see above).
            messages.append(pickle.loads(buffer[first : first + length]))  # noqa: S301
            start = first + length
        del buffer[:start]
        return messages


# What travels: the API sends lists of requests, the writer answers with
# (its WriterCounts as a tuple, [(group size, commit seconds)] since the last frame, [results])
# after each commit group, and tells its state as (STATUS, LEADING | STANDBY) first and whenever
# it changes (storage/writer_lock.py). A request's last member is the W3C `traceparent` of the
# request that sent it, None when not traced.
STATUS = "status"
LEADING = "leading"  # holds the store's writer lock (or takes none): takes commands
STANDBY = "standby"  # another writer leads the store: waits for the lock, takes none
Request = tuple[int, Command, str | None, str, str | None]  # id, command, key, fingerprint, tp
Result = tuple[int, Outcome | None, BaseException | None]  # request id, outcome or error


def picklable(results: list[Result]) -> list[Result]:
    """Errors that cannot cross a process boundary are sent as their message."""
    safe: list[Result] = []
    for request_id, outcome, error in results:
        if error is not None:
            try:
                pickle.loads(pickle.dumps(error))  # noqa: S301 (our own bytes)
            except Exception:
                error = RuntimeError(f"{type(error).__name__}: {error}")
        safe.append((request_id, outcome, error))
    return safe
