"""An in-memory unit of work for pure tests, behaving like the real one.

Each command runs against deep copies of the stored aggregates; the copies (and any new
aggregates) replace the stored ones only when the handler returns, so a refused command changes
nothing. The events each command emitted are collected, so tests can assert on them.
"""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.commands import Command
from domain.handlers import handle
from domain.results import Result


class MemoryUnitOfWork:
    def __init__(self) -> None:
        self.aggregates: dict[UUID, Aggregate] = {}
        self.history: dict[UUID, list[Any]] = {}
        self.last_events: list[Any] = []
        self._working: dict[UUID, Aggregate] | None = None

    # --- the UnitOfWork protocol the handlers see ------------------------------------------

    def find(self, aggregate_id: UUID) -> Aggregate | None:
        working = self._in_command()
        if aggregate_id not in working:
            stored = self.aggregates.get(aggregate_id)
            if stored is None:
                return None
            working[aggregate_id] = deepcopy(stored)
        return working[aggregate_id]

    def view(self, aggregate_id: UUID) -> Aggregate | None:
        working = self._in_command()
        return working.get(aggregate_id) or self.aggregates.get(aggregate_id)

    def is_new(self, aggregate_id: UUID) -> bool:
        working = self._in_command()
        return aggregate_id not in working and aggregate_id not in self.aggregates

    def add(self, aggregate: Aggregate) -> None:
        working = self._in_command()
        if aggregate.id in working or aggregate.id in self.aggregates:
            # The real event store refuses a second "created" event for the same id.
            raise RuntimeError(f"aggregate {aggregate.id} already exists; saving would conflict")
        working[aggregate.id] = aggregate

    # --- running commands ------------------------------------------------------------------

    def run(self, command: Command | Any, handler: Callable[[Any, Any], Result] = handle) -> Result:
        """Handle one command; keep its changes and events only if the handler returns."""
        self._working = {}
        self.last_events = []
        try:
            answer = handler(command, self)
            changed = self._working
        finally:
            self._working = None
        events = [event for aggregate in changed.values() for event in aggregate.collect_events()]
        for event in events:
            self.history.setdefault(event.originator_id, []).append(event)
        self.aggregates.update(changed)
        self.last_events = events
        return answer

    def get(self, aggregate_id: UUID) -> Any:
        """The stored aggregate (not a copy): read it, don't change it."""
        return self.aggregates[aggregate_id]

    def event_types(self) -> list[str]:
        """Names of the events the last successful command emitted, in order."""
        return [type(event).__qualname__ for event in self.last_events]

    def all_events(self) -> list[Any]:
        return [event for events in self.history.values() for event in events]

    def _in_command(self) -> dict[UUID, Aggregate]:
        if self._working is None:
            raise RuntimeError("find/add are only valid while a command runs")
        return self._working
