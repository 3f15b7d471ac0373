"""Properties of reconciling late till sales, whatever the web shop did meanwhile and
whatever the store's policy: every unit the till sold is recorded (never clamped), units are
conserved, every open cart holds exactly its units somewhere, a cancelled one holds nothing,
every live fulfilment order of a web order holds exactly its units where it says, and every
unit the books are short of is named by a shortage record."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from hypothesis import event, given, settings
from hypothesis import strategies as st
from shop import RED, STORE, WAREHOUSE, confirm, line, reserve, stock, trace
from till_orders import HOME
from till_shop import answer as line_answer
from till_shop import policy, shop_with_till, till_sale

from domain import commands as c
from domain import order_commands as o
from domain.errors import DomainError
from domain.order import CANCELLED, Order
from domain.reservation import OPEN, Reservation

POLICIES = st.sampled_from(
    [("shortage",), ("resource",), ("cancel_hold",), ("resource", "cancel_hold")]
)
ACTIONS = st.lists(
    st.tuples(st.sampled_from(["cart", "confirm", "order", "pick", "till"]), st.integers(1, 4)),
    max_size=25,
)


@settings(max_examples=500, deadline=None)
@given(steps=POLICIES, actions=ACTIONS, store_units=st.integers(0, 6))
def test_reconciling_loses_nothing_and_explains_every_shortfall(
    steps: tuple[str, ...], actions: list[tuple[str, int]], store_units: int
) -> None:
    uow = shop_with_till(store_units=max(store_units, 1), warehouse_units=4)
    uow.run(policy(*steps))
    received = max(store_units, 1) + 4
    carts: list[UUID] = []
    orders: list[UUID] = []
    sold = 0
    seq = 0
    for action, units in actions:
        if action == "cart":
            sold += _try(uow, reserve(line(units, RED, STORE)), carts)
        elif action == "confirm" and carts:
            sold += _try(uow, confirm(carts.pop(0)), [])
        elif action == "order":
            _try(uow, o.PlaceOrder(uuid4(), (o.OrderedItem(RED, units),), HOME, trace()), orders)
        elif action == "pick" and orders:
            _start_picking(uow, orders[units % len(orders)])
        elif action == "till":
            seq += 1
            answer = line_answer(uow, till_sale(seq, units))
            assert answer["items"][0]["quantity"] == units  # never clamped
            for step in answer.get("reconciliation", []):
                event(f"{step['action']} {'order' if 'order_id' in step else 'cart'}")
            sold += units
        _check(uow, received, sold, carts)
        _check_orders(uow, orders)


def _try(uow: Any, command: Any, made: list[UUID]) -> int:
    """Run a web command; the units it sold (a refusal for lack of stock sells nothing);
    the cart or order it made goes to `made`."""
    try:
        result = uow.run(command).body
    except DomainError:
        return 0
    if "reservation_id" in result and result.get("status") == OPEN:
        made.append(UUID(result["reservation_id"]))
    if "fulfilments" in result:
        made.append(UUID(result["order_id"]))
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


def _start_picking(uow: Any, order_id: UUID) -> None:
    order = uow.get(order_id)
    for fulfilment in order.fulfilments.values():
        if fulfilment.status == OPEN:
            fid = fulfilment.fulfilment_id
            uow.run(o.ProgressFulfilment(order_id, fid, "picking", trace(), c.EVERYWHERE))
            return


def _check_orders(uow: Any, orders: list[UUID]) -> None:
    """Every live fulfilment order holds exactly its units and batches where it says; one
    cancelled (or re-sourced away) holds nothing; each open item is in one of them."""
    for order_id in orders:
        order = uow.get(order_id)
        assert isinstance(order, Order)
        for fulfilment in order.fulfilments.values():
            shelf = stock(uow, RED, fulfilment.location)
            held = shelf.holds.get(order.hold_id(fulfilment.fulfilment_id).hex, {})
            if fulfilment.status == CANCELLED:
                assert held == {}
                continue
            wanted: dict[str, int] = {}
            for item in fulfilment.lines:
                for number, units in item["batches"].items():
                    wanted[number] = wanted.get(number, 0) + units
            assert held == wanted
        live = [f for f in order.fulfilments.values() if f.status != CANCELLED]
        assert sum(x["quantity"] for f in live for x in f.lines) == order.lines["L1"].open
