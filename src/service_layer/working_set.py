"""Aggregates one commit group works on, and the scope one command works in.

A command runs against deep copies (its scope); only when its handler returns are the copies
promoted into the group, so a refused command leaves nothing behind.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Callable
from uuid import UUID

from eventsourcing.domain import Aggregate, DomainEventProtocol

from storage.command_answers import CommandAnswer

Loader = Callable[[UUID], Aggregate | None]
Refresher = Callable[[Aggregate], Aggregate]


class AggregateCache:
    """Last committed state of recently used aggregates (LRU), owned by the writer thread,
    and the ids recently found to have no aggregate (None): a rule that looks for what does
    not exist (a channel's rules never set) would otherwise ask the store at every command."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[UUID, Aggregate | None] = OrderedDict()

    def get(self, aggregate_id: UUID) -> Aggregate | None:
        found = self._items.get(aggregate_id)
        if found is not None:
            self._items.move_to_end(aggregate_id)
        return found

    def is_absent(self, aggregate_id: UUID) -> bool:
        """True if the store had no such aggregate when last asked (and none was made since)."""
        return aggregate_id in self._items and self._items[aggregate_id] is None

    def put(self, aggregate: Aggregate) -> None:
        self._keep(aggregate.id, aggregate)

    def put_absent(self, aggregate_id: UUID) -> None:
        self._keep(aggregate_id, None)

    def _keep(self, aggregate_id: UUID, aggregate: Aggregate | None) -> None:
        self._items[aggregate_id] = aggregate
        self._items.move_to_end(aggregate_id)
        while len(self._items) > self.maxsize:
            self._items.popitem(last=False)

    def evict(self, aggregate_id: UUID) -> None:
        self._items.pop(aggregate_id, None)

    def __len__(self) -> int:
        return len(self._items)


class CommitGroup:
    """Aggregates and pending events of the commands grouped into one transaction."""

    def __init__(
        self, cache: AggregateCache, load: Loader, refresh: Refresher, *, strict: bool
    ) -> None:
        """A strict group brings cached aggregates up to date with the store before use and
        asks the store about ids it does not hold; a lenient one trusts the cache, and relies
        on optimistic concurrency at save time to catch what it missed."""
        self._cache = cache
        self._load = load
        self._refresh = refresh
        self.strict = strict
        self.aggregates: dict[UUID, Aggregate] = {}
        self.events: list[DomainEventProtocol[UUID]] = []
        self.answers: dict[str, CommandAnswer] = {}

    def current(self, aggregate_id: UUID) -> Aggregate | None:
        if aggregate_id in self.aggregates:
            return self.aggregates[aggregate_id]
        found = self._cache.get(aggregate_id)
        if found is None:
            if not self.strict and self._cache.is_absent(aggregate_id):
                return None  # like a cached aggregate: trusted until a strict group asks
            found = self._load(aggregate_id)
            if found is None:
                self._cache.put_absent(aggregate_id)
            else:
                self._cache.evict(aggregate_id)  # made elsewhere since: no longer absent
        elif self.strict:
            found = self._refresh(found)
        if found is not None:
            self.aggregates[aggregate_id] = found
        return found

    def known(self, aggregate_id: UUID) -> Aggregate | None:
        """The aggregate if this group or the cache holds it, without asking the store."""
        return self.aggregates.get(aggregate_id) or self._cache.get(aggregate_id)

    def scope(self) -> CommandScope:
        return CommandScope(self)

    def promote(self, scope: CommandScope) -> None:
        for aggregate in scope.touched.values():
            self.events.extend(aggregate.collect_events())
            self.aggregates[aggregate.id] = aggregate

    def commit_to(self, cache: AggregateCache) -> None:
        for aggregate in self.aggregates.values():
            cache.put(aggregate)


class CommandScope:
    """The UnitOfWork one handler sees: copies of the group's aggregates."""

    def __init__(self, group: CommitGroup) -> None:
        self._group = group
        self.touched: dict[UUID, Aggregate] = {}

    def find(self, aggregate_id: UUID) -> Aggregate | None:
        if aggregate_id in self.touched:
            return self.touched[aggregate_id]
        found = self._group.current(aggregate_id)
        if found is None:
            return None
        working_copy = copy.deepcopy(found)
        self.touched[aggregate_id] = working_copy
        return working_copy

    def view(self, aggregate_id: UUID) -> Aggregate | None:
        if aggregate_id in self.touched:
            return self.touched[aggregate_id]
        return self._group.current(aggregate_id)

    def is_new(self, aggregate_id: UUID) -> bool:
        if aggregate_id in self.touched or self._group.known(aggregate_id) is not None:
            return False
        return not self._group.strict or self._group.current(aggregate_id) is None

    def add(self, aggregate: Aggregate) -> None:
        self.touched[aggregate.id] = aggregate
