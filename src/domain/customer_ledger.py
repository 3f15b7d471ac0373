"""The customer ledger: its own event store (`customers_events`), so customer events never mix
with stock events. No snapshots: a snapshot would keep personal data in plaintext after the
customer's key is destroyed, and customers' histories are short enough to replay."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder

from domain.ledger import DateAsISO, TraceAsDict


class CustomerLedger(Application[UUID]):
    name = "customers"

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())
        transcoder.register(TraceAsDict())
