"""What a handler needs from storage: aggregates by id, and a place to put new ones."""

from __future__ import annotations

from typing import Protocol, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

A = TypeVar("A", bound=Aggregate)


class UnitOfWork(Protocol):
    def find(self, aggregate_id: UUID) -> Aggregate | None:
        """The aggregate's current state, including this unit's own changes, or None."""

    def view(self, aggregate_id: UUID) -> Aggregate | None:
        """The aggregate's current state to read, never to change (no copy is made)."""

    def is_new(self, aggregate_id: UUID) -> bool:
        """True when no aggregate has this id yet.

        May answer optimistically: the event store's uniqueness of (id, version) refuses a
        second creation at save time, and the command is then decided again strictly.
        """

    def add(self, aggregate: Aggregate) -> None:
        """Track a newly created aggregate so its events are saved with the rest."""


def find_as(uow: UnitOfWork, aggregate_id: UUID, kind: type[A]) -> A | None:
    return _as(uow.find(aggregate_id), aggregate_id, kind)


def view_as(uow: UnitOfWork, aggregate_id: UUID, kind: type[A]) -> A | None:
    return _as(uow.view(aggregate_id), aggregate_id, kind)


def _as(found: Aggregate | None, aggregate_id: UUID, kind: type[A]) -> A | None:
    if found is None:
        return None
    if not isinstance(found, kind):
        kind_found = type(found).__name__
        raise TypeError(f"aggregate {aggregate_id} is a {kind_found}, not {kind.__name__}")
    return found
