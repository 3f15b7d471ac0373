"""A till's journal read off the request as it arrives: JSON Lines, or one JSON array whose
elements are cut out one by one. Memory holds one chunk and one line, never the file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

MAX_LINE_BYTES = 64 * 1024


class LineTooLongError(Exception):
    pass


async def journal_lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Each line (or array element) as bytes, in order; blank lines are skipped."""
    splitter: _Splitter | None = None
    async for chunk in chunks:
        if splitter is None:
            head = chunk.lstrip()
            if not head:
                continue
            splitter = _ArraySplitter() if head[:1] == b"[" else _LineSplitter()
        for line in splitter.feed(chunk):
            yield line
    if splitter is not None:
        for line in splitter.end():
            yield line


class _Splitter(Protocol):
    """Cuts a body, chunk by chunk, into whole journal lines."""

    def feed(self, chunk: bytes) -> list[bytes]: ...

    def end(self) -> list[bytes]: ...


class _LineSplitter:
    def __init__(self) -> None:
        self.rest = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        *lines, self.rest = (self.rest + chunk).split(b"\n")
        if len(self.rest) > MAX_LINE_BYTES:
            raise LineTooLongError(f"a journal line is longer than {MAX_LINE_BYTES} bytes")
        return [line for line in lines if line.strip()]

    def end(self) -> list[bytes]:
        return [self.rest] if self.rest.strip() else []


class _ArraySplitter:
    """Top-level elements of `[ {...}, {...} ]`, found by depth outside strings."""

    def __init__(self) -> None:
        self.depth = 0
        self.in_string = self.escaped = False
        self.element = bytearray()
        self.closed = False

    def feed(self, chunk: bytes) -> list[bytes]:
        found = []
        for byte in chunk:
            if self.closed:
                if not chr(byte).isspace():
                    found.append(b"]" + bytes([byte]))  # text after the array: malformed
                continue
            if self._boundary(byte):
                if self.element.strip():
                    found.append(bytes(self.element))
                self.element.clear()
                continue
            if self.depth >= 1:
                self.element.append(byte)
                if len(self.element) > MAX_LINE_BYTES:
                    raise LineTooLongError(f"a journal entry is longer than {MAX_LINE_BYTES} bytes")
        return found

    def _boundary(self, byte: int) -> bool:
        """Track strings and depth; True at a comma or bracket that ends an element."""
        if self.in_string:
            if self.escaped:  # the character after a backslash, a quote included
                self.escaped = False
            elif byte == 0x5C:
                self.escaped = True
            elif byte == 0x22:
                self.in_string = False
            return False
        if byte == 0x22:
            self.in_string = True
        elif byte in (0x5B, 0x7B):
            self.depth += 1
            return self.depth == 1
        elif byte in (0x5D, 0x7D):
            self.depth -= 1
            if self.depth == 0:
                self.closed = True
                return True
        elif byte == 0x2C and self.depth == 1:
            return True
        return False

    def end(self) -> list[bytes]:
        if not self.closed:
            return [bytes(self.element) or b"["]  # cut off before the closing bracket
        return []
