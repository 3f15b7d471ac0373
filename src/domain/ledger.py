"""The inventory ledger application: one event store for catalog, locations, stock,
reservations and the answers given to idempotency keys."""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder, Transcoding

from domain.batch import Batch
from domain.returns import ReturnBook
from domain.stock import Stock
from domain.trace import Trace

SNAPSHOT_INTERVAL = 100


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class TraceAsDict(Transcoding):
    type = Trace
    name = "trace"

    def encode(self, obj: Trace) -> dict[str, Any]:
        return obj.as_dict()

    def decode(self, data: dict[str, Any]) -> Trace:
        return Trace.from_dict(data)


class BatchAsDict(Transcoding):
    type = Batch
    name = "batch"

    def encode(self, obj: Batch) -> dict[str, Any]:
        return obj.as_dict()

    def decode(self, data: dict[str, Any]) -> Batch:
        return Batch.from_dict(data)


class ReturnBookAsDict(Transcoding):
    type = ReturnBook
    name = "return_book"

    def encode(self, obj: ReturnBook) -> dict[str, Any]:
        return obj.as_dict()

    def decode(self, data: dict[str, Any]) -> ReturnBook:
        return ReturnBook.from_dict(data)


class InventoryLedger(Application[UUID]):
    """Named `inventory` in storage: tables `inventory_events` and `inventory_snapshots`."""

    name = "inventory"
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Stock: SNAPSHOT_INTERVAL}

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())
        transcoder.register(TraceAsDict())
        transcoder.register(BatchAsDict())
        transcoder.register(ReturnBookAsDict())
