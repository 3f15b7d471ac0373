"""Kits and gift sets: made of component SKUs, available as their scarcest component allows."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from shop import memory_ledger, trace
from test_orders import state

from domain.errors import InvalidCommandError
from domain.ids import kit_id
from domain.kits import Kit, kit_availability, lines_to_source
from domain.sourcing import LineToSource

GIFT = {"LIP-RED": 2, "BALM": 1}


def test_a_kit_is_defined_by_its_components_under_its_own_sku():
    kit = Kit.define("GIFT-SET", GIFT, trace())
    assert kit.id == kit_id("GIFT-SET")
    assert kit.parts() == (("BALM", 1), ("LIP-RED", 2))
    assert kit.as_dict() == {"sku": "GIFT-SET", "components": GIFT, "version": 1}


def test_recomposing_a_kit_is_an_event_only_when_it_changes():
    kit = Kit.define("GIFT-SET", GIFT, trace())
    kit.collect_events()
    kit.recompose(dict(GIFT), trace())
    assert kit.collect_events() == []
    kit.recompose({"LIP-RED": 1, "BALM": 1, "MIRROR": 1}, trace())
    assert [type(e).__name__ for e in kit.collect_events()] == ["Recomposed"]
    assert kit.components == {"BALM": 1, "LIP-RED": 1, "MIRROR": 1}


@pytest.mark.parametrize(
    ("components", "kits", "message"),
    [
        ({}, (), "at least one component"),
        ({"LIP-RED": 0}, (), "positive whole number of LIP-RED, got 0"),
        ({"LIP-RED": -1}, (), "got -1"),
        ({"GIFT-SET": 1}, (), "cannot contain GIFT-SET"),
        ({"MINI-SET": 1, "BALM": 1}, ("MINI-SET",), "cannot contain MINI-SET: expected plain"),
    ],
)
def test_a_kit_needs_plain_components_in_positive_quantities(components, kits, message):
    with pytest.raises(InvalidCommandError, match=message):
        Kit.define("GIFT-SET", components, trace(), kits)


def test_a_kit_is_as_available_as_its_scarcest_component_allows():
    assert kit_availability(GIFT, {"LIP-RED": 7, "BALM": 5}) == 3
    assert kit_availability(GIFT, {"LIP-RED": 7}) == 0
    assert kit_availability(GIFT, {"LIP-RED": -2, "BALM": 5}) == 0


@given(
    st.dictionaries(st.sampled_from("ABCD"), st.integers(1, 5), min_size=1),
    st.dictionaries(st.sampled_from("ABCD"), st.integers(0, 50)),
)
def test_kit_availability_is_the_largest_count_the_components_cover(components, available):
    kits = kit_availability(components, available)
    assert all(kits * per <= available.get(sku, 0) for sku, per in components.items())
    assert any((kits + 1) * per > available.get(sku, 0) for sku, per in components.items())


def test_a_kit_line_is_sourced_as_its_components_and_a_plain_line_as_itself():
    kit = Kit.define("GIFT-SET", GIFT, trace())
    assert lines_to_source([("L1", "GIFT-SET", 2), ("L2", "BALM", 1)], {"GIFT-SET": kit}) == [
        LineToSource("L1", "GIFT-SET", 2, (("BALM", 1), ("LIP-RED", 2))),
        LineToSource("L2", "BALM", 1),
    ]


def test_kit_events_survive_the_ledgers_mapper():
    kit = Kit.define("GIFT-SET", GIFT, trace())
    kit.recompose({"BALM": 2}, trace())
    with memory_ledger() as ledger:
        ledger.save(kit)
        assert state(ledger.repository.get(kit.id)) == state(kit)
