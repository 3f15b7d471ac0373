"""The marketplace feed's rows in PostgreSQL (`marketplace_feed`, migration 0011): per
channel and SKU, the position of the last change that may move its available-to-sell and what
was last published. A row is due when a change is not yet flushed and its last publication is
older than the coalescing interval: at most one publication per SKU per interval."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

_MARK = (
    "INSERT INTO marketplace_feed (channel, sku, changed_position) VALUES (%s, %s, %s) "
    "ON CONFLICT (channel, sku) DO UPDATE SET changed_position = "
    "GREATEST(marketplace_feed.changed_position, EXCLUDED.changed_position)"
)

_DUE = """
SELECT channel, sku, changed_position, published_units FROM marketplace_feed
WHERE changed_position > flushed_position
  AND (published_at IS NULL OR published_at <= now() - make_interval(secs => %s))
ORDER BY changed_position LIMIT %s
"""

_FLUSHED = """
UPDATE marketplace_feed SET flushed_position = GREATEST(flushed_position, %s),
    published_units = CASE WHEN %s THEN %s ELSE published_units END,
    published_at = CASE WHEN %s THEN now() ELSE published_at END
WHERE channel = %s AND sku = %s
"""


@dataclass(frozen=True)
class FeedRow:
    channel: str
    sku: str
    changed_position: int
    published_units: int | None


def mark(
    conn: psycopg.Connection[Any],
    pairs: Sequence[tuple[str, str]],
    whole_channels: Sequence[str],
    position: int,
) -> None:
    if pairs:
        with conn.cursor() as cursor:
            cursor.executemany(_MARK, [(channel, sku, position) for channel, sku in set(pairs)])
    for channel in whole_channels:
        conn.execute(
            "UPDATE marketplace_feed SET changed_position = GREATEST(changed_position, %s) "
            "WHERE channel = %s",
            (position, channel),
        )


def due(conn: psycopg.Connection[Any], interval_seconds: float, limit: int) -> list[FeedRow]:
    rows = conn.execute(_DUE, (interval_seconds, limit)).fetchall()
    return [FeedRow(r[0], r[1], int(r[2]), r[3]) for r in rows]


def flushed(conn: psycopg.Connection[Any], row: FeedRow, published_units: int | None) -> None:
    """Changes up to `row.changed_position` are out; `published_units` if it was published."""
    published = published_units is not None
    conn.execute(
        _FLUSHED,
        (row.changed_position, published, published_units, published, row.channel, row.sku),
    )
