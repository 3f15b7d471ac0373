"""The writer's working set remembers ids the store had no aggregate for: a lenient group
trusts that as it trusts a cached aggregate, a strict group asks the store again, and an
aggregate made since replaces the mark."""

from __future__ import annotations

from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from service_layer.working_set import AggregateCache, CommitGroup


class Store:
    def __init__(self) -> None:
        self.held: dict[UUID, Aggregate] = {}
        self.asked: list[UUID] = []

    def load(self, aggregate_id: UUID) -> Aggregate | None:
        self.asked.append(aggregate_id)
        return self.held.get(aggregate_id)


def group(cache: AggregateCache, store: Store, *, strict: bool = False) -> CommitGroup:
    return CommitGroup(cache, store.load, lambda cached: cached, strict=strict)


def test_a_lenient_group_asks_the_store_about_a_missing_aggregate_once() -> None:
    cache, store, missing = AggregateCache(10), Store(), uuid4()
    assert group(cache, store).current(missing) is None
    assert group(cache, store).current(missing) is None
    assert store.asked == [missing]
    assert cache.is_absent(missing)


def test_a_strict_group_asks_the_store_again_and_finds_what_was_made_elsewhere() -> None:
    cache, store, later = AggregateCache(10), Store(), Aggregate()
    assert group(cache, store).current(later.id) is None
    store.held[later.id] = later
    assert group(cache, store, strict=True).current(later.id) is later
    assert group(cache, store).current(later.id) is later
    assert not cache.is_absent(later.id)
    assert store.asked == [later.id] * 3  # held by the cache only once a group commits it


def test_an_aggregate_put_in_the_cache_replaces_the_mark_of_its_absence() -> None:
    cache, store, made = AggregateCache(10), Store(), Aggregate()
    group(cache, store).current(made.id)
    cache.put(made)
    assert not cache.is_absent(made.id)
    assert group(cache, store).current(made.id) is made
    cache.evict(made.id)
    assert not cache.is_absent(made.id)


def test_marks_of_absence_count_toward_the_cache_s_size() -> None:
    cache, store = AggregateCache(2), Store()
    first, *rest = [uuid4() for _ in range(3)]
    for aggregate_id in (first, *rest):
        group(cache, store).current(aggregate_id)
    assert len(cache) == 2
    assert not cache.is_absent(first)
    assert all(cache.is_absent(aggregate_id) for aggregate_id in rest)
