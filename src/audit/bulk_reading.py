"""Replays allocate hundreds of thousands of small objects that never form cycles; the cyclic
garbage collector scanning them again and again cost 10-15% of a replay here. Reference
counting still frees everything while the collector is paused."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
