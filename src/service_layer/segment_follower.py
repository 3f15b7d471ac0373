"""Keeps the customer dimension (projections/customer_dimension.py) current: reads the
customer ledger's log from the position recorded beside the dimension, and for each customer
a page names, folds their whole history (unsealed by the ledger's mapper: this layer holds the
key vault) into the dimension's versions. A customer forgotten by then gets every row of
theirs deleted instead (projections/segment_erasure.py), so no replay brings them back.

Embedded, a thread of the API process (GLOW_SEGMENTS_REFRESH_SECONDS); in the cluster or from
cron, `glow segments refresh` calls `catch_up` once."""

from __future__ import annotations

import logging
import threading
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

from domain.customer import Customer
from projections.customer_dimension import CustomerDimension, DimensionRow, dimension_rows
from projections.segment_erasure import erase_segments

log = logging.getLogger(__name__)
CONSUMER = "customer-dimension"
PAGE = 1000


class DimensionFollower:
    def __init__(self, ledger: Application[UUID], dimension: CustomerDimension) -> None:
        self.ledger = ledger
        self.dimension = dimension
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def catch_up(self) -> int:
        """Read the customer log to its head; the number of notifications read."""
        position = self.dimension.position(CONSUMER)
        read = 0
        while page := self.ledger.recorder.select_notifications(position + 1, PAGE):
            touched = dict.fromkeys(
                UUID(str(n.originator_id)) for n in page if _is_customer(n.topic)
            )
            rows: list[DimensionRow] = []
            for customer_id in touched:
                rows += self._versions(customer_id)
            position = page[-1].id
            self.dimension.write(rows, CONSUMER, position)
            read += len(page)
            if len(page) < PAGE:
                break
        return read

    def _versions(self, customer_id: UUID) -> list[DimensionRow]:
        history: list[Any] = list(self.ledger.events.get(customer_id))
        if any(isinstance(event, Customer.Forgotten) for event in history):
            erase_segments(self.dimension.client, str(customer_id))
            return []
        return dimension_rows(history)

    # --- the embedded thread -----------------------------------------------------------------

    def start(self, interval: float) -> None:
        self._thread = threading.Thread(
            target=self._run, args=(interval,), name="segment-follower", daemon=True
        )
        self._thread.start()

    def _run(self, interval: float) -> None:
        failing = False
        while not self._stop.is_set():
            try:
                self.catch_up()
                if failing:
                    log.info("customer dimension follower resumed")
                failing = False
            except Exception as error:  # an outage of ClickHouse or the store: wait it out
                if not failing:
                    log.warning("customer dimension follower paused: %s", type(error).__name__)
                failing = True
            self._stop.wait(interval)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


def _is_customer(topic: str) -> bool:
    return topic.rsplit(":", 1)[-1].startswith("Customer.")
