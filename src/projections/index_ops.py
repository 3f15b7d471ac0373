"""A change to a hot view's index, written with the document it comes from."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class IndexOp:
    """`sadd`/`srem` a member of a set, `zadd`/`zrem` a scored member, `geoadd` a place."""

    kind: str
    key: str
    member: str
    score: float = 0.0
    longitude: float = 0.0
    latitude: float = 0.0
