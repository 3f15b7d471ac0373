"""Sourcing as a pure function: which locations serve an order, and why each other did not."""

from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shop import NOW, RED, WAREHOUSE, line, open_shop, receive, reserve, stock, trace

from domain import commands as c
from domain.errors import CannotSourceError, InvalidCommandError, UnknownLocationError
from domain.sourcing import (
    CANNOT_SERVE_EVERY_LINE,
    FEWEST_SHIPMENTS,
    NO_STOCK,
    NOT_ALLOWED_FOR_CHANNEL,
    NOT_ENOUGH_AFTER_BUFFER,
    NOT_THE_PICKUP_STORE,
    PARTIAL_STOCK,
    PICKUP,
    PRIORITY,
    SHELF_LIFE_TOO_SHORT,
    SHIP,
    SHIP_FROM_STORE_OFF,
    STRATEGIES,
    USED,
    LineToSource,
    PickUpAt,
    Place,
    SellableBatch,
    ShipTo,
    SourcingDecision,
    SourcingPolicy,
    SourcingRefusal,
    count_stock,
    sellable_batches,
    source,
)

TODAY = NOW.date()
PARIS_WH = Place("WH-PARIS", "warehouse", 48.85, 2.35)
LYON_WH = Place("WH-LYON", "warehouse", 45.76, 4.83)
PARIS_SHOP = Place("ST-PARIS", "store", 48.86, 2.34)
NICE_SHOP = Place("ST-NICE", "store", 43.70, 7.27)
PLACES = {p.code: p for p in (PARIS_WH, LYON_WH, PARIS_SHOP, NICE_SHOP)}
IN_PARIS = ShipTo(48.85, 2.30)
IN_NICE = ShipTo(43.70, 7.26)
WEB = SourcingPolicy("web")


def batch(number: str, free: int, days: int = 200) -> SellableBatch:
    return SellableBatch(number, TODAY + timedelta(days=days), free)


def stock_of(**at: dict[str, tuple[SellableBatch, ...]]) -> dict:
    """stock_of(SKU={"LOC": (batches...)}) -> the candidates sourcing takes."""
    return {(sku, loc): batches for sku, per_loc in at.items() for loc, batches in per_loc.items()}


def lines(*spec: tuple[str, int]) -> list[LineToSource]:
    return [LineToSource(f"L{n}", sku, quantity) for n, (sku, quantity) in enumerate(spec, 1)]


def decide(order, delivery=IN_PARIS, policy=WEB, candidates=None, places=PLACES):
    return source(order, delivery, policy, candidates or {}, places, TODAY)


def decided(*args, **kwargs) -> SourcingDecision:
    decision = decide(*args, **kwargs)
    assert isinstance(decision, SourcingDecision), decision
    return decision


def refused(*args, **kwargs) -> SourcingRefusal:
    decision = decide(*args, **kwargs)
    assert isinstance(decision, SourcingRefusal), decision
    return decision


def reasons(decision: SourcingDecision | SourcingRefusal) -> dict[str, str]:
    return {r.location: r.code for r in decision.reasons}


def served(decision: SourcingDecision) -> dict[tuple[str, str, str], int]:
    return {(a.location, a.line_id, a.sku): a.quantity for a in decision.allocations}


EVERYWHERE = stock_of(A={code: (batch("A1", 5),) for code in PLACES})


def test_nearest_ships_from_the_nearest_location_with_stock_and_says_why_not_the_others():
    decision = decided(lines(("A", 2)), candidates=EVERYWHERE)
    assert served(decision) == {("ST-PARIS", "L1", "A"): 2}
    assert decision.method == SHIP
    assert reasons(decision) == {
        "ST-PARIS": USED,
        "WH-PARIS": "farther",
        "WH-LYON": "farther",
        "ST-NICE": "farther",
    }


class ReadsRecorded(dict):
    """Candidates that note which (SKU, location) sourcing read."""

    def __init__(self, found: dict) -> None:
        super().__init__(found)
        self.read: set[tuple[str, str]] = set()

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)


def test_locations_ranked_after_those_that_served_are_not_read_and_recorded_as_not_reached():
    candidates = ReadsRecorded(stock_of(A={code: (batch("A1", 5),) for code in PLACES}))
    decision = decided(lines(("A", 2)), delivery=IN_NICE, candidates=candidates)
    assert served(decision) == {("ST-NICE", "L1", "A"): 2}
    assert {loc for _, loc in candidates.read} == {"ST-NICE"}, "only the nearest was read"
    recorded = decision.as_dict()
    assert [r["location"] for r in recorded["reasons"]] == ["ST-NICE"]
    assert recorded["not_reached"]["code"] == "farther"
    assert sorted(recorded["not_reached"]["locations"]) == ["ST-PARIS", "WH-LYON", "WH-PARIS"]
    assert "not counted" in recorded["not_reached"]["detail"]


def test_a_nearer_location_without_stock_is_read_and_its_reason_recorded():
    candidates = ReadsRecorded(stock_of(A={"WH-LYON": (batch("A1", 5),)}))
    decision = decided(lines(("A", 2)), delivery=IN_NICE, candidates=candidates)
    assert served(decision) == {("WH-LYON", "L1", "A"): 2}
    recorded = {r["location"]: r["code"] for r in decision.as_dict()["reasons"]}
    assert recorded == {"ST-NICE": NO_STOCK, "WH-LYON": USED}
    assert decision.as_dict()["not_reached"]["locations"] == ["ST-PARIS", "WH-PARIS"]


def test_a_location_without_stock_is_not_used_and_the_reason_says_so():
    candidates = stock_of(A={"WH-LYON": (batch("A1", 5),)})
    decision = decided(lines(("A", 2)), candidates=candidates)
    assert served(decision) == {("WH-LYON", "L1", "A"): 2}
    assert reasons(decision)["WH-PARIS"] == NO_STOCK


def test_priority_follows_the_channels_list_whatever_the_distance():
    policy = SourcingPolicy("web", strategy=PRIORITY, priority=("WH-LYON", "WH-PARIS"))
    decision = decided(lines(("A", 2)), policy=policy, candidates=EVERYWHERE)
    assert served(decision) == {("WH-LYON", "L1", "A"): 2}
    assert reasons(decision)["WH-PARIS"] == "lower-priority"
    assert reasons(decision)["ST-PARIS"] == "lower-priority"  # unlisted: after the list


def test_fewest_shipments_prefers_one_location_with_everything_over_nearer_ones_with_part():
    candidates = stock_of(
        A={"ST-PARIS": (batch("A1", 5),), "WH-LYON": (batch("A2", 5),)},
        B={"WH-PARIS": (batch("B1", 5),), "WH-LYON": (batch("B2", 5),)},
    )
    order = lines(("A", 1), ("B", 1))
    nearest = decided(order, candidates=candidates)
    assert {a.location for a in nearest.allocations} == {"ST-PARIS", "WH-PARIS"}
    fewest = decided(
        order, policy=SourcingPolicy("web", strategy=FEWEST_SHIPMENTS), candidates=candidates
    )
    assert {a.location for a in fewest.allocations} == {"WH-LYON"}
    assert reasons(fewest)["ST-PARIS"] == "more-shipments"


def test_a_line_is_split_over_locations_when_the_channel_allows_it():
    candidates = stock_of(A={"ST-PARIS": (batch("A1", 2),), "WH-PARIS": (batch("A2", 5),)})
    decision = decided(lines(("A", 4)), candidates=candidates)
    assert served(decision) == {("ST-PARIS", "L1", "A"): 2, ("WH-PARIS", "L1", "A"): 2}
    assert list(decision.shipments()) == ["ST-PARIS", "WH-PARIS"]


def test_all_or_nothing_takes_the_first_location_that_serves_every_line():
    candidates = stock_of(
        A={"ST-PARIS": (batch("A1", 2),), "WH-LYON": (batch("A2", 5),)},
    )
    whole = SourcingPolicy("web", split_allowed=False)
    decision = decided(lines(("A", 4)), policy=whole, candidates=candidates)
    assert served(decision) == {("WH-LYON", "L1", "A"): 4}
    assert reasons(decision)["ST-PARIS"] == CANNOT_SERVE_EVERY_LINE


def test_all_or_nothing_refuses_when_only_a_split_could_serve_and_says_why_everywhere():
    candidates = stock_of(A={"ST-PARIS": (batch("A1", 2),), "WH-PARIS": (batch("A2", 2),)})
    whole = SourcingPolicy("web", split_allowed=False)
    refusal = refused(lines(("A", 4)), policy=whole, candidates=candidates)
    assert refusal.unserved == (("L1", "A", 4),)
    assert reasons(refusal) == {
        "ST-PARIS": CANNOT_SERVE_EVERY_LINE,
        "WH-PARIS": CANNOT_SERVE_EVERY_LINE,
        "WH-LYON": NO_STOCK,
        "ST-NICE": NO_STOCK,
    }
    error = refusal.error()
    assert isinstance(error, CannotSourceError)
    assert "4 unit(s) of A (line L1) left unserved" in error.message
    assert len(error.details["reasons"]) == 4


def test_a_split_that_still_cannot_serve_everything_is_a_refusal_naming_what_is_missing():
    candidates = stock_of(A={"ST-PARIS": (batch("A1", 2),), "WH-PARIS": (batch("A2", 1),)})
    refusal = refused(lines(("A", 5)), candidates=candidates)
    assert refusal.unserved == (("L1", "A", 2),)
    assert reasons(refusal)["ST-PARIS"] == PARTIAL_STOCK
    assert refusal.as_dict()["sourced"] is False


def test_stores_do_not_ship_when_ship_from_store_is_off():
    policy = SourcingPolicy("web", ship_from_store=False)
    decision = decided(lines(("A", 2)), policy=policy, candidates=EVERYWHERE)
    assert served(decision) == {("WH-PARIS", "L1", "A"): 2}
    assert reasons(decision)["ST-PARIS"] == SHIP_FROM_STORE_OFF
    assert reasons(decision)["ST-NICE"] == SHIP_FROM_STORE_OFF


def test_a_channel_never_sources_from_a_location_it_may_not_sell_from():
    policy = SourcingPolicy("marketplace", locations=frozenset({"WH-LYON"}))
    decision = decided(lines(("A", 2)), policy=policy, candidates=EVERYWHERE)
    assert served(decision) == {("WH-LYON", "L1", "A"): 2}
    assert reasons(decision)["ST-PARIS"] == NOT_ALLOWED_FOR_CHANNEL


def test_the_safety_buffer_keeps_units_back_at_every_location():
    candidates = stock_of(A={"ST-PARIS": (batch("A1", 2),), "WH-PARIS": (batch("A2", 3),)})
    policy = SourcingPolicy("web", safety_buffer={"A": 2})
    decision = decided(lines(("A", 1)), policy=policy, candidates=candidates)
    assert served(decision) == {("WH-PARIS", "L1", "A"): 1}
    assert reasons(decision)["ST-PARIS"] == NOT_ENOUGH_AFTER_BUFFER
    assert "2 kept back" in next(r.detail for r in decision.reasons if r.location == "ST-PARIS")
    assert reasons(refused(lines(("A", 2)), policy=policy, candidates=candidates))


def test_units_ring_fenced_for_another_channel_are_kept_back():
    candidates = stock_of(A={"ST-PARIS": (batch("A1", 3),), "WH-PARIS": (batch("A2", 3),)})
    policy = SourcingPolicy("web", kept_for_others={("A", "ST-PARIS"): 3})
    decision = decided(lines(("A", 1)), policy=policy, candidates=candidates)
    assert served(decision) == {("WH-PARIS", "L1", "A"): 1}


def test_batches_go_first_expired_first_out_above_the_minimum_shelf_life():
    candidates = stock_of(
        A={"ST-PARIS": (batch("SHORT", 5, days=20), batch("MID", 2, 100), batch("LONG", 9, 300))}
    )
    fefo = decided(lines(("A", 6)), candidates=candidates)
    assert fefo.allocations[0].batches == (("SHORT", 5), ("MID", 1))
    picky = SourcingPolicy("marketplace", min_shelf_life_days=90)
    decision = decided(lines(("A", 6)), policy=picky, candidates=candidates)
    assert decision.allocations[0].batches == (("MID", 2), ("LONG", 4))


def test_a_location_with_only_short_dated_stock_says_so():
    candidates = stock_of(
        A={"ST-PARIS": (batch("SHORT", 5, days=20),), "WH-LYON": (batch("LONG", 5, 300),)}
    )
    picky = SourcingPolicy("marketplace", min_shelf_life_days=90)
    decision = decided(lines(("A", 1)), policy=picky, candidates=candidates)
    assert served(decision) == {("WH-LYON", "L1", "A"): 1}
    assert reasons(decision)["ST-PARIS"] == SHELF_LIFE_TOO_SHORT


def test_two_lines_of_the_same_sku_are_served_from_one_pool_of_units():
    candidates = stock_of(A={"ST-PARIS": (batch("A1", 3),), "WH-PARIS": (batch("A2", 5),)})
    decision = decided(lines(("A", 2), ("A", 2)), candidates=candidates)
    paris_shop = sum(a.quantity for a in decision.allocations if a.location == "ST-PARIS")
    assert paris_shop <= 3
    assert sum(a.quantity for a in decision.allocations) == 4


def test_a_pickup_is_served_by_the_pickup_store_alone():
    decision = decided(lines(("A", 2)), delivery=PickUpAt("ST-NICE"), candidates=EVERYWHERE)
    assert served(decision) == {("ST-NICE", "L1", "A"): 2}
    assert decision.method == PICKUP
    assert reasons(decision)["ST-PARIS"] == NOT_THE_PICKUP_STORE


def test_a_pickup_store_without_the_stock_is_a_refusal():
    candidates = stock_of(A={"WH-PARIS": (batch("A1", 3),)})
    refusal = refused(lines(("A", 1)), delivery=PickUpAt("ST-NICE"), candidates=candidates)
    assert reasons(refusal)["ST-NICE"] == NO_STOCK


def test_a_pickup_at_a_warehouse_is_bad_input():
    with pytest.raises(InvalidCommandError, match="it is a warehouse, expected a store"):
        decide(lines(("A", 1)), delivery=PickUpAt("WH-PARIS"), candidates=EVERYWHERE)


def test_a_pickup_at_an_unknown_place_is_not_found():
    with pytest.raises(UnknownLocationError, match="NOWHERE"):
        decide(lines(("A", 1)), delivery=PickUpAt("NOWHERE"), candidates=EVERYWHERE)


@pytest.mark.parametrize(
    ("order", "delivery", "message"),
    [
        ([], IN_PARIS, "at least one line"),
        (lines(("A", 0)), IN_PARIS, "positive whole number, got 0"),
        (lines(("A", -2)), IN_PARIS, "positive whole number, got -2"),
        ([LineToSource("L1", "A", 1), LineToSource("L1", "B", 1)], IN_PARIS, "appears twice"),
        (
            [LineToSource("L1", "KIT", 1, (("A", 0),))],
            IN_PARIS,
            "positive whole number of A, got 0",
        ),
        (lines(("A", 1)), ShipTo(91.0, 0.0), "latitude from -90 to 90"),
        (lines(("A", 1)), ShipTo(0.0, float("nan")), "longitude from -180 to 180"),
    ],
)
def test_bad_input_is_refused_with_what_was_expected(order, delivery, message):
    with pytest.raises(InvalidCommandError, match=message):
        decide(order, delivery=delivery, candidates=EVERYWHERE)


def test_a_policy_with_an_unknown_strategy_or_a_negative_shelf_life_is_refused():
    with pytest.raises(InvalidCommandError, match="expected one of priority, nearest"):
        SourcingPolicy("web", strategy="cheapest")
    with pytest.raises(InvalidCommandError, match="0 days or more"):
        SourcingPolicy("web", min_shelf_life_days=-1)


def test_a_kit_is_taken_whole_from_one_location_rather_than_the_nearest_parts():
    candidates = stock_of(
        A={"ST-PARIS": (batch("A1", 5),), "WH-LYON": (batch("A2", 5),)},
        B={"WH-LYON": (batch("B2", 5),)},
    )
    kit = [LineToSource("L1", "GIFT", 2, (("A", 1), ("B", 2)))]
    decision = decided(kit, candidates=candidates)
    assert served(decision) == {("WH-LYON", "L1", "A"): 2, ("WH-LYON", "L1", "B"): 4}


def test_a_kit_no_location_holds_whole_is_split_by_component_when_allowed():
    candidates = stock_of(A={"ST-PARIS": (batch("A1", 5),)}, B={"WH-LYON": (batch("B2", 5),)})
    kit = [LineToSource("L1", "GIFT", 2, (("A", 1), ("B", 2)))]
    decision = decided(kit, candidates=candidates)
    assert served(decision) == {("ST-PARIS", "L1", "A"): 2, ("WH-LYON", "L1", "B"): 4}
    whole = SourcingPolicy("web", split_allowed=False)
    assert refused(kit, policy=whole, candidates=candidates).unserved == (
        ("L1", "A", 2),
        ("L1", "B", 4),
    )


def test_ties_are_broken_by_location_code():
    twins = {"B-SHOP": Place("B-SHOP", "store", 48.0, 2.0), "A-SHOP": replace(PARIS_SHOP)}
    twins["A-SHOP"] = Place("A-SHOP", "store", 48.0, 2.0)
    candidates = stock_of(A={code: (batch("A1", 5),) for code in twins})
    for strategy in STRATEGIES:
        policy = SourcingPolicy("web", strategy=strategy)
        decision = decided(lines(("A", 1)), policy=policy, candidates=candidates, places=twins)
        assert served(decision) == {("A-SHOP", "L1", "A"): 1}, strategy


def test_sourcing_sees_a_stocks_free_sellable_batches_first_expired_first():
    uow = open_shop()
    uow.run(receive(batch="LATE", expiry=date(2026, 1, 1), quantity=4))
    uow.run(receive(batch="EARLY", expiry=date(2025, 6, 1), quantity=3))
    uow.run(receive(batch="OLD", expiry=TODAY - timedelta(days=1), quantity=9))
    uow.run(receive(batch="QUARANTINED", expiry=date(2025, 9, 1), quantity=9))
    uow.run(c.QuarantineBatch(RED, WAREHOUSE, "QUARANTINED", trace()))
    uow.run(reserve(line(3)))
    assert sellable_batches(stock(uow), TODAY) == (SellableBatch("LATE", date(2026, 1, 1), 4),)


def test_a_stock_count_never_offers_more_than_is_free_after_what_is_kept_back():
    assert count_stock((batch("A", 5), batch("B", 5, days=1)), 7, TODAY + timedelta(3)).usable == 3
    assert count_stock((batch("A", 5),), 9, TODAY).usable == 0


# --- properties ----------------------------------------------------------------------------

SKUS = ("A", "B", "C")
place_codes = st.lists(
    st.sampled_from(["P1", "P2", "P3", "P4", "P5", "P6"]), min_size=1, unique=True
)


@st.composite
def sourcing_inputs(draw):
    codes = draw(place_codes)
    places = {
        code: Place(
            code,
            draw(st.sampled_from(["warehouse", "store", "fulfilment_centre"])),
            draw(st.floats(40, 50)),
            draw(st.floats(0, 10)),
        )
        for code in codes
    }
    candidates = {}
    for sku in SKUS:
        for code in codes:
            batches = draw(
                st.lists(
                    st.builds(
                        SellableBatch,
                        st.sampled_from(["X1", "X2", "X3", "X4"]),
                        st.integers(0, 400).map(lambda d: TODAY + timedelta(days=d)),
                        st.integers(1, 6),
                    ),
                    max_size=3,
                    unique_by=lambda b: b.number,
                )
            )
            if batches:
                candidates[sku, code] = tuple(sorted(batches, key=lambda b: (b.expiry, b.number)))
    order = []
    for n in range(draw(st.integers(1, 3))):
        if draw(st.booleans()):
            order.append(
                LineToSource(f"L{n}", draw(st.sampled_from(SKUS)), draw(st.integers(1, 8)))
            )
        else:
            parts = draw(st.dictionaries(st.sampled_from(SKUS), st.integers(1, 3), min_size=1))
            order.append(
                LineToSource(f"L{n}", "KIT", draw(st.integers(1, 3)), tuple(parts.items()))
            )
    stores = [code for code, p in places.items() if p.kind == "store"]
    delivery = (
        PickUpAt(draw(st.sampled_from(stores)))
        if stores and draw(st.booleans())
        else ShipTo(draw(st.floats(40, 50)), draw(st.floats(0, 10)))
    )
    allowed = draw(st.none() | st.frozensets(st.sampled_from(codes)))
    policy = SourcingPolicy(
        "web",
        strategy=draw(st.sampled_from(STRATEGIES)),
        priority=tuple(draw(st.permutations(codes))),
        ship_from_store=draw(st.booleans()),
        split_allowed=draw(st.booleans()),
        min_shelf_life_days=draw(st.integers(0, 300)),
        locations=allowed,
        safety_buffer=draw(st.dictionaries(st.sampled_from(SKUS), st.integers(0, 4))),
        kept_for_others=draw(
            st.dictionaries(
                st.tuples(st.sampled_from(SKUS), st.sampled_from(codes)), st.integers(0, 3)
            )
        ),
    )
    return order, delivery, policy, candidates, places


def usable_at(policy, candidates, sku, code):
    batches = candidates.get((sku, code), ())
    return count_stock(batches, policy.withheld(sku, code), policy.earliest_expiry(TODAY)).usable


def eligible(policy, delivery, place):
    if isinstance(delivery, PickUpAt):
        return place.code == delivery.store and policy.may_sell_from(place.code)
    return policy.may_sell_from(place.code) and (policy.ship_from_store or place.kind != "store")


def needed(order):
    need: dict[str, int] = {}
    for item in order:
        for sku, per in item.parts():
            need[sku] = need.get(sku, 0) + item.quantity * per
    return need


@settings(max_examples=300, deadline=None)
@given(sourcing_inputs())
def test_sourcing_keeps_every_rule_of_the_channel(inputs):
    order, delivery, policy, candidates, places = inputs
    decision = source(order, delivery, policy, candidates, places, TODAY)
    assert sorted(r.location for r in decision.reasons) == sorted(places)
    again = source(order, delivery, policy, dict(reversed(candidates.items())), places, TODAY)
    assert again == decision, "the same input gives the same decision"
    need = needed(order)
    if isinstance(decision, SourcingRefusal) and not policy.split_allowed:
        for code, place in places.items():  # no single location could serve it all
            if eligible(policy, delivery, place):
                assert any(
                    usable_at(policy, candidates, sku, code) < units for sku, units in need.items()
                )
    if isinstance(decision, SourcingRefusal):
        if policy.split_allowed:  # refused only when the eligible locations lack units
            assert any(
                sum(
                    usable_at(policy, candidates, sku, code)
                    for code, place in places.items()
                    if eligible(policy, delivery, place)
                )
                < units
                for sku, units in need.items()
            )
        return
    taken: dict[tuple[str, str], int] = {}
    per_line: dict[tuple[str, str], int] = {}
    for allocation in decision.allocations:
        place = places[allocation.location]
        assert eligible(policy, delivery, place), allocation
        key = (allocation.sku, allocation.location)
        taken[key] = taken.get(key, 0) + allocation.quantity
        line_key = (allocation.line_id, allocation.sku)
        per_line[line_key] = per_line.get(line_key, 0) + allocation.quantity
        assert sum(n for _, n in allocation.batches) == allocation.quantity
        free = {b.number: b for b in candidates[key]}
        for number, _ in allocation.batches:
            assert free[number].expiry >= policy.earliest_expiry(TODAY), "too short shelf life"
    for (sku, code), units in taken.items():
        assert units <= usable_at(policy, candidates, sku, code), "more than free after buffer"
        used = {}
        for allocation in decision.allocations:
            if (allocation.sku, allocation.location) == (sku, code):
                for number, n in allocation.batches:
                    used[number] = used.get(number, 0) + n
        free = {b.number: b.free for b in candidates[sku, code]}
        assert all(n <= free[number] for number, n in used.items())
    for item in order:
        for sku, per in item.parts():
            assert per_line[item.line_id, sku] == item.quantity * per, "every line served whole"
    if not policy.split_allowed:
        assert len({a.location for a in decision.allocations}) == 1, "all or nothing: one place"
