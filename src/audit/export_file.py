"""Where an interrupted export file stops: the last complete line, and what follows it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

TAIL = 1 << 20


def last_complete_line(path: Path) -> dict[str, Any] | None:
    """Cuts off a half-written last line and returns the last complete one, if any."""
    size = path.stat().st_size
    with path.open("rb+") as file:
        file.seek(max(0, size - TAIL))
        tail = file.read()
        end = tail.rfind(b"\n")
        if end < 0:
            file.truncate(0)
            return None
        file.truncate(size - len(tail) + end + 1)
        start = tail.rfind(b"\n", 0, end) + 1
    line: dict[str, Any] = orjson.loads(tail[start:end])
    return line
