"""Properties of reconciling late till sales, whatever the web shop did meanwhile and
whatever the store's policy: every unit the till sold is recorded (never clamped), units are
conserved, every open cart holds exactly its units somewhere, a cancelled one holds nothing,
and every unit the books are short of is named by a shortage record."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st
from shop import RED, STORE, WAREHOUSE, confirm, line, reserve, stock
from till_shop import answer as line_answer
from till_shop import policy, shop_with_till, till_sale

from domain.errors import DomainError
from domain.reservation import OPEN, Reservation

POLICIES = st.sampled_from(
    [("shortage",), ("resource",), ("cancel_hold",), ("resource", "cancel_hold")]
)
ACTIONS = st.lists(
    st.tuples(st.sampled_from(["cart", "confirm", "till"]), st.integers(1, 4)),
    max_size=25,
)


@settings(max_examples=300, deadline=None)
@given(steps=POLICIES, actions=ACTIONS, store_units=st.integers(0, 6))
def test_reconciling_loses_nothing_and_explains_every_shortfall(
    steps: tuple[str, ...], actions: list[tuple[str, int]], store_units: int
) -> None:
    uow = shop_with_till(store_units=max(store_units, 1), warehouse_units=4)
    uow.run(policy(*steps))
    received = max(store_units, 1) + 4
    carts: list[UUID] = []
    sold = 0
    seq = 0
    for action, units in actions:
        if action == "cart":
            sold += _try(uow, reserve(line(units, RED, STORE)), carts)
        elif action == "confirm" and carts:
            sold += _try(uow, confirm(carts.pop(0)), [])
        elif action == "till":
            seq += 1
            answer = line_answer(uow, till_sale(seq, units))
            assert answer["items"][0]["quantity"] == units  # never clamped
            sold += units
        _check(uow, received, sold, carts)


def _try(uow: Any, command: Any, carts: list[UUID]) -> int:
    """Run a web command; the units it sold (a refusal for lack of stock sells nothing)."""
    try:
        result = uow.run(command).body
    except DomainError:
        return 0
    if "reservation_id" in result and result.get("status") == OPEN:
        carts.append(UUID(result["reservation_id"]))
    return sum(sum(s["allocations"].values()) for s in result.get("sold", []))


def _check(uow: Any, received: int, sold: int, carts: list[UUID]) -> None:
    shelves = [stock(uow, RED, STORE), stock(uow, RED, WAREHOUSE)]
    assert sum(b.on_hand for s in shelves for b in s.batches.values()) == received - sold
    for shelf in shelves:
        assert shelf.units_short() <= shelf.counters.get("till_shortage", 0)
        for batch in shelf.batches.values():
            assert batch.reserved == sum(h.get(batch.number, 0) for h in shelf.holds.values())
    for cart_id in carts:
        cart = uow.get(cart_id)
        assert isinstance(cart, Reservation)
        held = sum(sum(s.holds.get(cart_id.hex, {}).values()) for s in shelves)
        if cart.status == OPEN:
            assert held == sum(x["quantity"] for x in cart.lines)
        else:
            assert held == 0
