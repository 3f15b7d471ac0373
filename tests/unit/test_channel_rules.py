"""A sales channel bound to stock: its locations, buffers, pools, shelf life and sourcing."""

from datetime import date, timedelta

import pytest
from shop import (
    NOW,
    RED,
    STORE,
    WAREHOUSE,
    line,
    memory_ledger,
    open_shop,
    receive,
    reserve,
    stock,
    trace,
)
from test_orders import state

from domain.channel_rules import SalesChannel, available_to_sell, pools_kept_from
from domain.errors import InvalidCommandError
from domain.ids import sales_channel_id
from domain.sourcing import FEWEST_SHIPMENTS, NEAREST, PRIORITY, SourcingPolicy

TODAY = NOW.date()


def channel(name: str = "marketplace") -> SalesChannel:
    opened = SalesChannel.open(name, trace())
    opened.collect_events()
    return opened


def names(sales_channel: SalesChannel) -> list[str]:
    return [type(e).__name__ for e in sales_channel.collect_events()]


def test_a_new_channel_sells_from_anywhere_keeps_nothing_back_and_ships_the_nearest():
    opened = SalesChannel.open("web", trace())
    assert opened.id == sales_channel_id("web")
    assert opened.policy() == SourcingPolicy("web")
    assert opened.as_dict()["strategy"] == NEAREST


def test_every_change_of_a_rule_is_an_event_and_an_unchanged_rule_none():
    rules = channel()
    rules.sell_from(["WH-LYON", "WH-PARIS", "WH-LYON"], trace())
    rules.sell_from(["WH-PARIS", "WH-LYON"], trace())
    rules.set_safety_buffer(RED, 2, trace())
    rules.set_safety_buffer(RED, 2, trace())
    rules.set_ring_fenced_pool(RED, 5, trace())
    rules.set_minimum_shelf_life(180, trace())
    rules.set_sourcing(PRIORITY, ["WH-PARIS", "WH-LYON"], False, False, trace())
    rules.set_sourcing(PRIORITY, ["WH-PARIS", "WH-LYON"], False, False, trace())
    assert names(rules) == [
        "SellingLocationsSet",
        "SafetyBufferSet",
        "RingFencedPoolSet",
        "MinimumShelfLifeSet",
        "SourcingStrategySet",
    ]
    assert rules.policy() == SourcingPolicy(
        "marketplace",
        strategy=PRIORITY,
        priority=("WH-PARIS", "WH-LYON"),
        ship_from_store=False,
        split_allowed=False,
        min_shelf_life_days=180,
        locations=frozenset({"WH-LYON", "WH-PARIS"}),
        safety_buffer={RED: 2},
    )


def test_a_buffer_or_pool_set_to_zero_is_gone_and_anywhere_comes_back_with_none():
    rules = channel()
    rules.set_safety_buffer(RED, 2, trace())
    rules.set_safety_buffer(RED, 0, trace())
    rules.sell_from([], trace())
    assert rules.buffers == {}
    assert not rules.may_sell_from(WAREHOUSE)
    rules.sell_from(None, trace())
    assert rules.may_sell_from(WAREHOUSE)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.set_safety_buffer(RED, -1, trace()), "0 units or more, got -1"),
        (lambda r: r.set_ring_fenced_pool(RED, -3, trace()), "0 units or more, got -3"),
        (lambda r: r.set_minimum_shelf_life(-1, trace()), "from 0 to 3650 days, got -1"),
        (lambda r: r.set_minimum_shelf_life(4000, trace()), "got 4000"),
        (lambda r: r.set_sourcing("cheapest", [], True, True, trace()), "expected one of"),
        (lambda r: r.set_sourcing(PRIORITY, ["A", "A"], True, True, trace()), "names A more"),
    ],
)
def test_a_bad_rule_is_refused_and_records_nothing(change, message):
    rules = channel()
    with pytest.raises(InvalidCommandError, match=message):
        change(rules)
    assert rules.collect_events() == []


def test_a_pool_ring_fenced_for_one_channel_is_kept_back_from_the_others_where_it_sells():
    marketplace, web, pos = channel("marketplace"), channel("web"), channel("pos")
    marketplace.sell_from([WAREHOUSE], trace())
    marketplace.set_ring_fenced_pool(RED, 4, trace())
    pos.set_ring_fenced_pool(RED, 1, trace())  # pos sells anywhere: kept at every location
    every = [WAREHOUSE, STORE]
    assert pools_kept_from("web", [marketplace, web, pos], every) == {
        (RED, WAREHOUSE): 5,
        (RED, STORE): 1,
    }
    assert pools_kept_from("marketplace", [marketplace, web, pos], every) == {
        (RED, WAREHOUSE): 1,
        (RED, STORE): 1,
    }


def summaries():
    """Red lipstick: 10 units (4 short-dated) at the warehouse, 3 reserved; 5 at the store."""
    uow = open_shop()
    uow.run(receive(batch="SHORT", expiry=TODAY + timedelta(days=30), quantity=4))
    uow.run(receive(batch="LONG", expiry=date(2026, 6, 1), quantity=6))
    uow.run(receive(batch="SHOP", expiry=date(2026, 6, 1), quantity=5, where=STORE))
    uow.run(reserve(line(3)))
    return [stock(uow).summary(TODAY), stock(uow, where=STORE).summary(TODAY)]


def test_available_to_sell_follows_the_channels_locations_buffer_pools_and_shelf_life():
    assert available_to_sell(SourcingPolicy("web"), RED, summaries(), TODAY) == 12
    only_warehouse = SourcingPolicy("web", locations=frozenset({WAREHOUSE}))
    assert available_to_sell(only_warehouse, RED, summaries(), TODAY) == 7
    buffered = SourcingPolicy("web", safety_buffer={RED: 2})
    assert available_to_sell(buffered, RED, summaries(), TODAY) == 5 + 3
    long_dated = SourcingPolicy("marketplace", min_shelf_life_days=90)
    assert available_to_sell(long_dated, RED, summaries(), TODAY) == 6 + 5
    kept = SourcingPolicy("web", kept_for_others={(RED, STORE): 5})
    assert available_to_sell(kept, RED, summaries(), TODAY) == 7


def test_channel_events_survive_the_ledgers_mapper():
    rules = SalesChannel.open("marketplace", trace())
    rules.sell_from([WAREHOUSE], trace())
    rules.sell_from(None, trace())
    rules.set_safety_buffer(RED, 2, trace())
    rules.set_ring_fenced_pool(RED, 3, trace())
    rules.set_minimum_shelf_life(90, trace())
    rules.set_sourcing(FEWEST_SHIPMENTS, [STORE], True, False, trace())
    with memory_ledger() as ledger:
        ledger.save(rules)
        assert state(ledger.repository.get(rules.id)) == state(rules)
