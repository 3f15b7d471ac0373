"""A channel's available-to-sell read from the hot views equals the ledger's, read from the
aggregates as sourcing reads them: for random rules (locations, buffers, ring-fenced pools,
minimum shelf life), stock, holds, quarantines, expiry dates and kits, on the day of the
events and later. The views of the rules and kits are the aggregates' own `as_dict`."""

from __future__ import annotations

from contextlib import suppress
from datetime import date, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
import shop
from event_log import ShopLog
from eventsourcing.domain import Aggregate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain import commands as c
from domain import order_commands as o
from domain.channel_rules import CHANNELS, SalesChannel
from domain.errors import DomainError, UnknownSkuError
from domain.ids import kit_id, sales_channel_id
from domain.kits import Kit
from domain.order_sourcing import channel_availability
from events.published import CATALOG_TOPIC, EVENT_TOPICS, PUBLISHED_EVENTS
from projections.channel_availability import channel_available_to_sell
from projections.channel_views import RULE_HANDLERS, RULE_KINDS
from projections.hot_view_store import apply_batch
from projections.hot_views import fold
from projections.memory_views import MemoryHotViews

PLUM, GIFT = "LIP-PLUM", "LIP-GIFT"
PLAIN = (shop.RED, shop.NUDE, PLUM)
PLACES = (shop.WAREHOUSE, shop.STORE, "WH2")
EXPIRIES = (-30, -1, 0, 1, 15, 45, 120, 400)  # days from the events' day
Step = tuple[Any, ...]


class Aggregates:
    """The shop's aggregates as sourcing reads them (a `Viewer`)."""

    def __init__(self, log: ShopLog) -> None:
        self.log = log

    def view(self, aggregate_id: UUID) -> Aggregate | None:
        return self.log.uow.aggregates.get(aggregate_id)


def opened() -> ShopLog:
    log = ShopLog()
    log.run(shop.lipstick(skus=(*PLAIN, GIFT)), *(shop.location(code) for code in PLACES))
    return log


def rules_step() -> st.SearchStrategy[Step]:
    units = st.dictionaries(st.sampled_from(PLAIN), st.integers(0, 6), max_size=2)
    where = st.none() | st.lists(st.sampled_from(PLACES), max_size=3)
    return st.tuples(
        st.just("rules"),
        st.sampled_from(CHANNELS),
        where,
        units,
        units,
        st.none() | st.sampled_from((0, 10, 60, 200)),
    )


def kit_step() -> st.SearchStrategy[Step]:
    made = st.dictionaries(st.sampled_from(PLAIN), st.integers(1, 3), min_size=1, max_size=3)
    return st.tuples(st.just("kit"), made)


def receive_step() -> st.SearchStrategy[Step]:
    sku, place, quantity = st.sampled_from(PLAIN), st.sampled_from(PLACES), st.integers(1, 12)
    return st.tuples(st.just("receive"), sku, place, st.sampled_from(EXPIRIES), quantity)


def stock_step() -> st.SearchStrategy[Step]:
    sku, place, quantity = st.sampled_from(PLAIN), st.sampled_from(PLACES), st.integers(1, 6)
    return st.one_of(
        st.tuples(st.just("reserve"), sku, place, quantity),
        st.tuples(st.just("sell"), sku, place, quantity),
        st.tuples(st.just("release"), st.integers(0, 5)),
        st.tuples(st.just("quarantine"), sku, place, st.sampled_from(EXPIRIES)),
    )


def command(step: Step, held: list[UUID]) -> Any:
    kind, *args = step
    if kind == "receive":
        sku, where, days, quantity = args
        expiry = shop.TODAY + timedelta(days=days)
        return shop.receive(sku, f"B{days}", expiry, quantity, where)
    if kind in ("reserve", "sell"):
        sku, where, quantity = args
        if kind == "sell":
            return shop.sell(shop.line(quantity, sku, where))
        held.append(uuid4())
        return shop.reserve(shop.line(quantity, sku, where), reservation_id=held[-1])
    if kind == "release":
        return shop.release(held[args[0] % len(held)]) if held else None
    if kind == "quarantine":
        sku, where, days = args
        return c.QuarantineBatch(sku, where, f"B{days}", shop.trace())
    if kind == "kit":
        return o.DefineKit(GIFT, args[0], shop.trace())
    channel, where, buffers, pools, shelf_life = args
    return o.ChangeChannelRules(
        channel,
        shop.trace(),
        sell_from=None if where is None else tuple(where),
        sell_from_everywhere=where is None,
        safety_buffers=buffers,
        ring_fenced_pools=pools,
        min_shelf_life_days=shelf_life,
    )


def played(steps: list[Step]) -> ShopLog:
    log, held = opened(), []
    for step in steps:
        found = command(step, held)
        if found is None:
            continue
        with suppress(DomainError):  # refused: nothing recorded, as in the ledger
            log.run(found)
    return log


def projected(log: ShopLog, chunk: int) -> MemoryHotViews:
    """The log projected in chunks, each delivered again with the one before it."""
    views, envelopes = MemoryHotViews(), log.envelopes
    for start in range(0, len(envelopes), chunk):
        for part in (
            envelopes[start : start + chunk],
            envelopes[max(0, start - chunk) : start + chunk],
        ):
            if part:
                apply_batch(views, part, "test", part[-1].position)
    return views


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kit=kit_step(),
    steps=st.lists(
        st.one_of(receive_step(), stock_step(), rules_step(), kit_step()), min_size=4, max_size=40
    ),
    chunk=st.integers(1, 9),
    later=st.sampled_from((0, 1, 14, 60)),
)
def test_available_to_sell_from_the_hot_views_equals_the_ledgers(
    kit: Step, steps: list[Step], chunk: int, later: int
) -> None:
    log = played([kit, *steps])
    views, aggregates = projected(log, chunk), Aggregates(log)
    today = shop.TODAY + timedelta(days=later)
    every = [*PLAIN, GIFT]
    for channel in CHANNELS:
        found = channel_available_to_sell(views, channel, every, today)
        expected = {sku: channel_availability(aggregates, channel, sku, today) for sku in every}
        assert found == expected, channel


@settings(max_examples=40, deadline=None)
@given(steps=st.lists(st.one_of(rules_step(), kit_step()), min_size=1, max_size=15))
def test_the_rules_and_kit_views_are_the_aggregates_as_they_describe_themselves(
    steps: list[Step],
) -> None:
    log = played(steps)
    views = {key: write.document for key, write in fold({}, log.envelopes).items()}
    for channel in CHANNELS:
        rules = log.uow.aggregates.get(sales_channel_id(channel))
        view = views.get(f"channel:{channel}")
        assert (view, rules) == (None, None) or (
            isinstance(rules, SalesChannel) and view == rules.as_dict()
        )
    kit = log.uow.aggregates.get(kit_id(GIFT))
    assert views.get(f"kit:{GIFT}") == (kit.as_dict() if isinstance(kit, Kit) else None)


def test_a_kit_is_counted_in_whole_kits_and_a_pool_is_kept_from_the_other_channels() -> None:
    log = opened()
    log.run(shop.receive(shop.RED, "B1", date(2026, 1, 1), 7), shop.receive(shop.NUDE, "B1"))
    log.run(o.DefineKit(GIFT, {shop.RED: 2, shop.NUDE: 1}, shop.trace()))
    log.run(o.ChangeChannelRules("web", shop.trace(), ring_fenced_pools={shop.RED: 3}))
    views = projected(log, 50)
    found = channel_available_to_sell(views, "app", [GIFT, shop.RED], shop.TODAY)
    assert found == {GIFT: 2, shop.RED: 4}  # 7 - 3 for the web; 4 // 2 kits
    assert channel_available_to_sell(views, "web", [GIFT], shop.TODAY) == {GIFT: 3}


def test_unknown_skus_are_refused_all_named_at_once() -> None:
    views = projected(opened(), 50)
    with pytest.raises(UnknownSkuError) as refused:
        channel_available_to_sell(views, "web", [shop.RED, "NOPE-1", "NOPE-2"], shop.TODAY)
    assert refused.value.details["skus"] == ["NOPE-1", "NOPE-2"]
    assert "'NOPE-1', 'NOPE-2'" in refused.value.message


def test_every_published_event_of_a_channel_or_kit_has_a_view_handler() -> None:
    published = {name for name in PUBLISHED_EVENTS if name.split(".")[0] in RULE_KINDS}
    assert published == set(RULE_HANDLERS)
    assert {EVENT_TOPICS[name] for name in published} == {CATALOG_TOPIC}  # the worker reads it
