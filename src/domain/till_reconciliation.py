"""Reconciling a late till sale with what the books gave away meanwhile.

The till's sale is a fact: it is recorded whole, never refused for lack of stock and never
clamped. When the units it took were held for others (the web shop reserved them while the
till was offline), the location's declared steps are tried on those holds, the lowest
priority first (carts, the most recently placed first, then open fulfilment orders, the
most recently placed first: domain/till_order_steps.py): re-source the cart's or the
order's units from another location (the same sourcing as orders), or cancel the cart (its
channel reads and hears `Reservation.CancelledForShortage`) or the order's lines concerned.
What no step frees is a `Stock.ShortageRecorded` naming the holds left short and a location
that could send the units. Every step is an event with the till's line as its source and
the step as its reason.

Fulfilment orders being picked or packed and pre-orders are never touched here: a shortage
names them for a transfer."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any
from uuid import UUID

from domain.batch import allocate_fefo
from domain.ids import location_id, stock_id
from domain.kits import lines_to_source
from domain.location import Location
from domain.order_sourcing import StockOnHand, channel_policy, every_place
from domain.reservation import OPEN, Reservation
from domain.sourcing import ShipTo, SourcingDecision, source
from domain.stock import Stock
from domain.till_order_steps import ORDER_STEPS, OrderHold, orders_lowest_first
from domain.tills import CANCEL_HOLD, RESOURCE
from domain.trace import Trace
from domain.unit_of_work import UnitOfWork, find_as, view_as


@dataclass(frozen=True)
class TillLine:
    till: str
    seq: int
    trace: Trace


def reconcile(
    uow: UnitOfWork, stock: Stock, quantity: int, steps: tuple[str, ...], line: TillLine
) -> list[dict[str, Any]]:
    """Free units for a till sale of `quantity` by the steps; returns what was done."""
    today = line.trace.occurred_at.date()
    short = quantity - sum(allocate_fefo(list(stock.batches.values()), quantity, today).values())
    done: list[dict[str, Any]] = []
    for lowest_first in (_carts_lowest_first, orders_lowest_first):  # carts give way first
        holds: Iterable[Reservation | OrderHold] = lowest_first(uow, stock) if short > 0 else ()
        for hold in holds:
            if short <= 0:
                break
            for step in steps:
                freed = _step(step, hold)(uow, stock, hold, short, line)
                done += freed
                short -= sum(f["units"] for f in freed)
                if short <= 0 or not _holds_here(stock, hold):
                    break
    return done


def record_shortage(
    uow: UnitOfWork, stock: Stock, short: int, line: TillLine
) -> dict[str, Any] | None:
    """After the sale: what the holds here are owed beyond what is on hand, as an event."""
    if short <= 0:
        return None
    owed = stock.units_short()
    if owed <= 0:
        return None
    units = min(short, owed)
    holds = _short_holds(stock, units)
    source_of = _transfer_source(uow, stock, units, line.trace.occurred_at.date())
    trace = _because(line, "till-shortage")
    stock.record_shortage(units, holds, line.till, line.seq, source_of, trace)
    return {
        "action": "shortage",
        "units": units,
        "holds": holds,
        "transfer_from": source_of,
        "reason": "no step freed these units: a transfer must bring them",
    }


def _carts_lowest_first(uow: UnitOfWork, stock: Stock) -> Iterator[Reservation]:
    """Open carts holding units here, the most recently placed first (fulfilment orders'
    and pre-orders' holds are not carts: their ids name no Reservation)."""
    carts = []
    for hold in list(stock.holds):
        found = uow.view(UUID(hex=hold))
        if isinstance(found, Reservation) and found.status == OPEN:
            carts.append(found)
    yield from sorted(carts, key=lambda r: r.placed_at, reverse=True)


def _resource(
    uow: UnitOfWork, stock: Stock, cart: Reservation, short: int, line: TillLine
) -> list[dict[str, Any]]:
    held = stock.holds.get(cart.id.hex, {})
    units = min(short, sum(held.values()))
    decision = _elsewhere(uow, stock, cart.channel, units, line.trace.occurred_at.date())
    if decision is None:
        return []
    trace = _because(line, "till-resourced")
    mine = find_as(uow, cart.id, Reservation)
    assert mine is not None
    stock.reduce_hold(cart.id, _release_last_expiring(stock, held, units), trace)
    done = []
    for allocation in decision.allocations:
        batches = dict(allocation.batches)
        other = find_as(uow, stock_id(stock.sku, allocation.location), Stock)
        assert other is not None
        other.hold(cart.id, batches, trace)
        mine.resource(stock.sku, stock.location, allocation.location, batches, trace)
        done.append(
            {
                "action": "resourced",
                "reservation_id": str(cart.id),
                "channel": cart.channel,
                "units": allocation.quantity,
                "to_location": allocation.location,
                "reason": "the cart's units here were sold at the till; held elsewhere now",
            }
        )
    return done


def _cancel(
    uow: UnitOfWork, stock: Stock, cart: Reservation, short: int, line: TillLine
) -> list[dict[str, Any]]:
    del short
    held_here = sum(stock.holds.get(cart.id.hex, {}).values())
    trace = _because(line, "till-cancelled-hold")
    mine = find_as(uow, cart.id, Reservation)
    assert mine is not None
    mine.cancel_for_shortage(stock.location, stock.sku, trace)
    for cart_line in mine.lines:
        where = find_as(uow, stock_id(cart_line["sku"], cart_line["location"]), Stock)
        if where is not None:
            where.release(cart.id, trace)
    return [
        {
            "action": "cancelled_hold",
            "reservation_id": str(cart.id),
            "channel": cart.channel,
            "units": held_here,
            "reason": "the lowest-priority hold on units the till had sold; its channel is told",
        }
    ]


_STEPS = {RESOURCE: _resource, CANCEL_HOLD: _cancel}


def _step(step: str, hold: Reservation | OrderHold) -> Callable[..., list[dict[str, Any]]]:
    """The step for a cart or an order's fulfilment order; `shortage` frees nothing."""
    steps: Mapping[str, Callable[..., list[dict[str, Any]]]]
    steps = _STEPS if isinstance(hold, Reservation) else ORDER_STEPS
    return steps.get(step, _nothing)


def _nothing(*_: object) -> list[dict[str, Any]]:
    return []


def _holds_here(stock: Stock, hold: Reservation | OrderHold) -> bool:
    """Whether the hold still has units here (a step that moved part of them leaves the
    next step the rest: an order re-sourced in part has the rest of its line cancelled)."""
    hold_id = hold.id if isinstance(hold, Reservation) else hold.hold_id
    return stock.holds_reservation(hold_id)


def _elsewhere(
    uow: UnitOfWork, stock: Stock, channel: str, units: int, today: date
) -> SourcingDecision | None:
    """Where the channel's sourcing would take `units` now, this location left out."""
    here = view_as(uow, location_id(stock.location), Location)
    places = {code: p for code, p in every_place(uow).items() if code != stock.location}
    if here is None or not places or units <= 0:
        return None
    candidates = StockOnHand(uow, [stock.sku], places, today)
    policy = channel_policy(uow, channel, places)
    to_source = lines_to_source([("1", stock.sku, units)], {})
    found = source(
        to_source, ShipTo(here.latitude, here.longitude), policy, candidates, places, today
    )
    return found if isinstance(found, SourcingDecision) else None


def _transfer_source(uow: UnitOfWork, stock: Stock, units: int, today: date) -> str | None:
    for code in sorted(every_place(uow)):
        other = view_as(uow, stock_id(stock.sku, code), Stock) if code != stock.location else None
        if other is not None and other.available(today) >= units:
            return code
    return None


def _release_last_expiring(stock: Stock, held: dict[str, int], units: int) -> dict[str, int]:
    given: dict[str, int] = {}
    for number in sorted(held, key=lambda n: (stock.batches[n].expiry, n), reverse=True):
        take = min(held[number], units)
        if take:
            given[number] = take
            units -= take
    return given


def _short_holds(stock: Stock, units: int) -> dict[str, int]:
    """The holds left short, the most recently added first; "" for units sold that the
    books did not have at all."""
    named: dict[str, int] = {}
    for hold in reversed(list(stock.holds)):
        if units <= 0:
            break
        take = min(sum(stock.holds[hold].values()), units)
        named[hold] = take
        units -= take
    if units > 0:
        named[""] = units
    return named


def _because(line: TillLine, reason: str) -> Trace:
    return replace(line.trace, reason=reason)
