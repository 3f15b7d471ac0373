"""Every aggregate rebuilt from the whole event log, read in pages of the notification log."""

from __future__ import annotations

from collections.abc import Callable

from audit.bulk_reading import collector_paused
from audit.event_decoding import reading_mapper
from audit.replay_check import Rebuilt
from domain.ledger import InventoryLedger

PAGE = 10_000


def replay_log(ledger: InventoryLedger, progress: Callable[[int], None] | None = None) -> Rebuilt:
    rebuilt = Rebuilt()
    to_domain_event = reading_mapper(ledger).to_domain_event
    start = 1
    with collector_paused():
        while page := ledger.recorder.select_notifications(start, PAGE):
            for notification in page:
                rebuilt.apply(to_domain_event(notification))
            if progress is not None:
                progress(len(page))
            start = page[-1].id + 1
    return rebuilt
