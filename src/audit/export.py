"""The log (or one aggregate's history, or a time window) as JSON Lines, resumable.

Each line carries the stored row exactly (`state` as base64 of the stored bytes, so an export
can be replayed and re-hashed offline) and, for reading, the decoded `event`. Lines from the
log carry their `position`; resume after the last line's position (log) or version (aggregate).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import StoredEvent

from audit.event_decoding import reading_mapper
from audit.rendering import describe_event
from domain.ledger import InventoryLedger

PAGE = 5_000


@dataclass(frozen=True)
class Selection:
    after: int = 0  # a log position, or a version when `aggregate_id` is given
    aggregate_id: UUID | None = None
    since: datetime | None = None
    until: datetime | None = None

    def admits(self, recorded_at: datetime) -> bool:
        return (self.since is None or recorded_at >= self.since) and (
            self.until is None or recorded_at < self.until
        )


def export_lines(
    ledger: InventoryLedger, selection: Selection, progress: Callable[[int], None] | None = None
) -> Iterator[bytes]:
    to_domain_event = reading_mapper(ledger).to_domain_event
    for position, stored in _stored_rows(ledger, selection):
        event: Any = to_domain_event(stored)
        if progress is not None:
            progress(1)
        if selection.admits(event.timestamp):
            yield orjson.dumps(_line(position, stored, event)) + b"\n"


def stored_event(line: dict[str, Any]) -> StoredEvent:
    return StoredEvent(
        originator_id=UUID(line["originator_id"]),
        originator_version=line["originator_version"],
        topic=line["topic"],
        state=base64.b64decode(line["state"]),
    )


def resume_point(line: dict[str, Any]) -> int:
    position = line.get("position")
    return int(position if position is not None else line["originator_version"])


def _line(position: int | None, stored: StoredEvent, event: Any) -> dict[str, Any]:
    return {
        "position": position,
        "originator_id": str(stored.originator_id),
        "originator_version": stored.originator_version,
        "topic": stored.topic,
        "state": base64.b64encode(stored.state).decode(),
        "recorded_at": event.timestamp.isoformat(),
        "event": describe_event(event),
    }


def _stored_rows(
    ledger: InventoryLedger, selection: Selection
) -> Iterator[tuple[int | None, StoredEvent]]:
    if selection.aggregate_id is not None:
        after: int | None = selection.after or None
        for stored in ledger.recorder.select_events(selection.aggregate_id, gt=after):
            yield None, stored
        return
    start = selection.after + 1
    while page := ledger.recorder.select_notifications(start, PAGE):
        for notification in page:
            yield notification.id, notification
        start = page[-1].id + 1
