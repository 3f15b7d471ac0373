"""The first answer given to an idempotency key, saved atomically with the command's events."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.ids import command_record_id


class CommandRecord(Aggregate):
    """Keyed by uuid5 of the idempotency key: a second writer of the same key fails to save."""

    class Recorded(Aggregate.Created):
        idempotency_key: str
        fingerprint: str
        status: int
        response: dict[str, Any]

    def __init__(
        self, idempotency_key: str, fingerprint: str, status: int, response: dict[str, Any]
    ) -> None:
        self.idempotency_key = idempotency_key
        self.fingerprint = fingerprint
        self.status = status
        self.response = response

    @classmethod
    def create_id(cls, idempotency_key: str, **_: Any) -> UUID:
        return command_record_id(idempotency_key)

    @classmethod
    def record(
        cls, idempotency_key: str, fingerprint: str, status: int, response: dict[str, Any]
    ) -> CommandRecord:
        return cls._create(
            cls.Recorded,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint,
            status=status,
            response=response,
        )
