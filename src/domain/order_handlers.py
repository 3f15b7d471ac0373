"""Handlers of the order, channel-rule and kit commands: load, decide, return the result.

Placing an order sources it on the server (`order_sourcing.plan`) and holds the chosen units
at every chosen location under each fulfilment order's own hold id, in the same command: the
writer saves the order and every hold together, so it is all lines or none. Every transition
that gives units back (a cancellation, a failed payment, an edit, a no-show) releases exactly
what the fulfilment orders concerned hold; handing units over (shipped, collected) sells them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.channel_rules import SalesChannel
from domain.errors import (
    AlreadyExistsError,
    InvalidCommandError,
    NotPermittedError,
    UnknownOrderError,
)
from domain.fulfilment_holds import note_holds
from domain.ids import kit_id, sales_channel_id, selling_directory_id
from domain.kits import Kit
from domain.loading import existing_stock, sku_of, stock_or_open
from domain.order import HANDED_OVER, Fulfilment, Order
from domain.order_commands import (
    CancelOrder,
    CancelOrderLines,
    ChangeChannelRules,
    DefineKit,
    EditOrderLines,
    OrderedItem,
    PlaceOrder,
    ProgressFulfilment,
    ReceiveReturn,
    RefundReturn,
    ReportPayment,
    RequestReturn,
)
from domain.order_sourcing import known_kits, plan
from domain.results import Result
from domain.selling_directory import SellingDirectory
from domain.sourcing import SourcingDecision, delivery_from_dict
from domain.trace import Trace
from domain.unit_of_work import UnitOfWork, find_as

# step -> (the Order's method, the verb its refusal names, what the step does to the stock)
SELL, RELEASE, NOTHING = "sell", "release", "nothing"
STEPS: dict[str, tuple[Callable[[Order, str, Trace], Fulfilment], str]] = {
    "picking": (Order.start_picking, NOTHING),
    "packed": (Order.pack, NOTHING),
    "shipped": (Order.ship, SELL),
    "delivered": (Order.deliver, NOTHING),
    "ready-for-pickup": (Order.ready_for_pickup, NOTHING),
    "collected": (Order.collect, SELL),
    "not-collected": (Order.not_collected, RELEASE),
}
PAYMENT_OUTCOMES = ("authorised", "captured", "failed")


def place_order(cmd: PlaceOrder, uow: UnitOfWork) -> Result:
    if not uow.is_new(cmd.order_id):
        raise AlreadyExistsError(
            f"order {cmd.order_id} already exists; use a new order id",
            order_id=str(cmd.order_id),
        )
    order = Order.place(
        cmd.order_id, _priced(uow, cmd.lines), _currency(uow, cmd.lines), cmd.delivery, cmd.trace
    )
    _source(order, uow, cmd.trace)
    uow.add(order)
    return Result(_placed_answer(order), created=True)


def progress_fulfilment(cmd: ProgressFulfilment, uow: UnitOfWork) -> Result:
    order = _order(uow, cmd.order_id)
    if cmd.step not in STEPS:
        raise InvalidCommandError(
            f"fulfilment step {cmd.step!r} is unknown: expected one of {', '.join(STEPS)}"
        )
    step, effect = STEPS[cmd.step]
    location = order.fulfilment(cmd.fulfilment_id).location
    refusal = cmd.authority.refusal(order.channel, [location])  # staff: where it is
    if refusal is not None:
        raise NotPermittedError(
            f"fulfilment order {cmd.fulfilment_id} of order {order.id} cannot be marked "
            f"{cmd.step} by this caller: {refusal}",
            order_id=str(order.id),
            fulfilment_id=cmd.fulfilment_id,
        )
    trace = cmd.trace.for_customer(order.customer_id)
    fulfilment = step(order, cmd.fulfilment_id, trace)
    if effect == SELL:
        _sell(order, fulfilment, uow, trace)
    elif effect == RELEASE:
        _release(order, [fulfilment], uow, trace)
    return Result(order.as_dict())


def cancel_order(cmd: CancelOrder, uow: UnitOfWork) -> Result:
    order = _order(uow, cmd.order_id)
    order.require_authority(cmd.authority, "cancelled")
    _release(order, order.cancel(cmd.trace), uow, cmd.trace)
    return Result(order.as_dict())


def cancel_order_lines(cmd: CancelOrderLines, uow: UnitOfWork) -> Result:
    order = _order(uow, cmd.order_id)
    order.require_authority(cmd.authority, "changed")
    locations = {f.fulfilment_id: f.location for f in order.fulfilments.values()}
    for removal in order.cancel_lines(cmd.lines, cmd.trace):
        stock = existing_stock(uow, removal["sku"], locations[removal["fulfilment_id"]])
        hold = order.hold_id(removal["fulfilment_id"])
        stock.reduce_hold(hold, dict(removal["batches"]), cmd.trace)
    return Result(order.as_dict())


def edit_order_lines(cmd: EditOrderLines, uow: UnitOfWork) -> Result:
    order = _order(uow, cmd.order_id)
    order.require_authority(cmd.authority, "edited")
    withdrawn = order.edit_lines(
        cmd.trace,
        add=_priced(uow, cmd.add, order.currency),
        remove=cmd.remove,
        change=cmd.change,
    )
    _release(order, withdrawn, uow, cmd.trace)
    _source(order, uow, cmd.trace)
    return Result(order.as_dict())


def report_payment(cmd: ReportPayment, uow: UnitOfWork) -> Result:
    order = _order(uow, cmd.order_id)
    order.require_authority(cmd.authority, f"reported {cmd.outcome}")
    if cmd.outcome == "failed":
        _release(order, order.fail_payment(cmd.trace), uow, cmd.trace)
        return Result(order.as_dict())
    if cmd.amount is None:
        raise InvalidCommandError(f"a payment {cmd.outcome} needs its amount")
    if cmd.outcome == "authorised":
        order.authorise_payment(cmd.amount, cmd.trace)
    elif cmd.outcome == "captured":
        order.capture_payment(cmd.amount, cmd.trace)
    else:
        raise InvalidCommandError(
            f"payment outcome {cmd.outcome!r} is unknown: expected one of "
            f"{', '.join(PAYMENT_OUTCOMES)}"
        )
    return Result(order.as_dict())


def request_return(cmd: RequestReturn, uow: UnitOfWork) -> Result:
    order = _order(uow, cmd.order_id)
    order.require_authority(cmd.authority, "returned")
    rma_id = order.request_return(cmd.lines, cmd.trace)
    return Result({**order.as_dict(), "rma_id": rma_id}, created=True)


def receive_return(cmd: ReceiveReturn, uow: UnitOfWork) -> Result:
    """The items are back at a location: restocked ones go back on its shelf, damaged ones are
    written off there; each against the batches the order handed over (the order proves the
    sale, so the stock takes it as the back office would, with the return's reason)."""
    order = _order(uow, cmd.order_id)
    order.require_authority(cmd.authority, "returned")
    trace = cmd.trace.for_customer(order.customer_id)
    if trace.reason is None:
        trace = Trace(**{**trace.as_dict(), "reason": f"order-return-{cmd.rma_id}"})
    rma = order.receive_return(cmd.rma_id, cmd.location, cmd.restocked, cmd.damaged, trace)
    for restock, items in ((True, rma.restocked), (False, rma.damaged)):
        for line_id, count in items.items():
            for sku, per in order.lines[line_id].parts.items():
                for batch, expiry, units in _handed_over(order, line_id, sku, count * per, uow):
                    stock = stock_or_open(uow, sku, cmd.location)
                    stock.accept_return(batch, expiry, units, restock, trace, back_office=True)
    return Result(order.as_dict())


def refund_return(cmd: RefundReturn, uow: UnitOfWork) -> Result:
    order = _order(uow, cmd.order_id)
    order.require_authority(cmd.authority, "refunded")
    order.refund_return(cmd.rma_id, cmd.amount, cmd.trace)
    return Result(order.as_dict())


def change_channel_rules(cmd: ChangeChannelRules, uow: UnitOfWork) -> Result:
    channel = find_as(uow, sales_channel_id(cmd.channel), SalesChannel)
    if channel is None:
        channel = SalesChannel.open(cmd.channel, cmd.trace)
        uow.add(channel)
        _selling_directory(uow).list_channel(cmd.channel)
    if cmd.sell_from_everywhere:
        channel.sell_from(None, cmd.trace)
    elif cmd.sell_from is not None:
        channel.sell_from(cmd.sell_from, cmd.trace)
    for sku, units in cmd.safety_buffers.items():
        sku_of(uow, sku)
        channel.set_safety_buffer(sku, units, cmd.trace)
    for sku, units in cmd.ring_fenced_pools.items():
        sku_of(uow, sku)
        channel.set_ring_fenced_pool(sku, units, cmd.trace)
    if cmd.min_shelf_life_days is not None:
        channel.set_minimum_shelf_life(cmd.min_shelf_life_days, cmd.trace)
    if cmd.sourcing is not None:
        rules = cmd.sourcing
        channel.set_sourcing(
            rules.strategy, rules.priority, rules.ship_from_store, rules.split_allowed, cmd.trace
        )
    return Result(channel.as_dict())


def define_kit(cmd: DefineKit, uow: UnitOfWork) -> Result:
    sku_of(uow, cmd.sku)
    kits = known_kits(uow, cmd.components)  # every component in the catalog
    kit = find_as(uow, kit_id(cmd.sku), Kit)
    if kit is None:
        uow.add(Kit.define(cmd.sku, cmd.components, cmd.trace, kits))
        _selling_directory(uow).list_kit(cmd.sku)
        return Result({"sku": cmd.sku, "components": dict(sorted(cmd.components.items()))}, True)
    kit.recompose(cmd.components, cmd.trace, kits)
    return Result(kit.as_dict())


ORDER_HANDLERS: dict[type[Any], Callable[[Any, UnitOfWork], Result]] = {
    PlaceOrder: place_order,
    ProgressFulfilment: progress_fulfilment,
    CancelOrder: cancel_order,
    CancelOrderLines: cancel_order_lines,
    EditOrderLines: edit_order_lines,
    ReportPayment: report_payment,
    RequestReturn: request_return,
    ReceiveReturn: receive_return,
    RefundReturn: refund_return,
    ChangeChannelRules: change_channel_rules,
    DefineKit: define_kit,
}


# --- helpers ------------------------------------------------------------------------------


def _selling_directory(uow: UnitOfWork) -> SellingDirectory:
    directory = find_as(uow, selling_directory_id(), SellingDirectory)
    if directory is None:
        directory = SellingDirectory.open()
        uow.add(directory)
    return directory


def _order(uow: UnitOfWork, order_id: UUID) -> Order:
    order = uow.find(order_id)  # a client's id may name another kind of aggregate
    if not isinstance(order, Order):
        raise UnknownOrderError(f"no order {order_id}", order_id=str(order_id))
    return order


def _placed_answer(order: Order) -> dict[str, Any]:
    """The order and where it ships from; the reasons for every location considered are
    recorded with it and read with the order (the answer is kept for replays: kept short)."""
    answer = order.as_dict()
    decision = dict(answer["decision"] or {})
    decision.pop("reasons", None)
    decision.pop("not_reached", None)
    return {**answer, "decision": decision}


def _priced(
    uow: UnitOfWork, items: Iterable[OrderedItem], currency: str | None = None
) -> list[tuple[str, int, Decimal]]:
    """(SKU, quantity, unit price) lines at the catalog's price, in the order's currency."""
    lines = []
    for item in items:
        sku = sku_of(uow, item.sku)
        if currency is not None and sku.currency != currency:
            raise InvalidCommandError(
                f"{item.sku} is priced in {sku.currency}, the order in {currency}: "
                "expected every line in one currency"
            )
        lines.append((item.sku, item.quantity, sku.price))
    return lines


def _currency(uow: UnitOfWork, items: Iterable[OrderedItem]) -> str:
    currencies = {sku_of(uow, item.sku).currency for item in items}
    if len(currencies) > 1:
        raise InvalidCommandError(
            f"the lines are priced in {', '.join(sorted(currencies))}: expected one currency"
        )
    return next(iter(currencies), "EUR")


def _source(order: Order, uow: UnitOfWork, trace: Trace) -> None:
    """Source the order's open lines and hold every unit chosen, or refuse with the reasons."""
    lines = [(i, line.sku, line.open) for i, line in order.lines.items() if line.open]
    today = trace.occurred_at.date()
    decision = plan(uow, lines, delivery_from_dict(order.delivery), order.channel, today)
    if not isinstance(decision, SourcingDecision):
        raise decision.error()
    fulfilments = order.source(decision, trace)
    for fulfilment in fulfilments:
        hold = order.hold_id(fulfilment.fulfilment_id)
        for sku, batches in _units_per_sku(fulfilment).items():
            existing_stock(uow, sku, fulfilment.location).hold(hold, batches, trace)
    note_holds(uow, order, fulfilments)


def _units_per_sku(fulfilment: Fulfilment) -> dict[str, dict[str, int]]:
    """SKU -> batch -> units a fulfilment order holds (lines sharing a SKU summed)."""
    found: dict[str, dict[str, int]] = {}
    for item in fulfilment.lines:
        batches = found.setdefault(item["sku"], {})
        for number, units in item["batches"].items():
            batches[number] = batches.get(number, 0) + units
    return found


def _release(
    order: Order, fulfilments: Iterable[Fulfilment], uow: UnitOfWork, trace: Trace
) -> None:
    for fulfilment in fulfilments:
        for sku in _units_per_sku(fulfilment):
            stock = existing_stock(uow, sku, fulfilment.location)
            stock.release(order.hold_id(fulfilment.fulfilment_id), trace)


def _sell(order: Order, fulfilment: Fulfilment, uow: UnitOfWork, trace: Trace) -> None:
    """Sell what the fulfilment order holds, at the catalog's price of each SKU."""
    for sku in _units_per_sku(fulfilment):
        price = sku_of(uow, sku)
        stock = existing_stock(uow, sku, fulfilment.location)
        stock.sell_reserved(
            order.hold_id(fulfilment.fulfilment_id), price.price, price.currency, trace
        )


def _handed_over(
    order: Order, line_id: str, sku: str, units: int, uow: UnitOfWork
) -> list[tuple[str, date, int]]:
    """(batch, expiry, units) of a line's SKU the customer received, as many as `units`."""
    found = []
    for fulfilment in order.fulfilments.values():
        if fulfilment.status not in HANDED_OVER:
            continue
        stock = existing_stock(uow, sku, fulfilment.location)
        for item in fulfilment.lines:
            if item["line_id"] != line_id or item["sku"] != sku:
                continue
            for number, n in item["batches"].items():
                take = min(n, units)
                if take:
                    found.append((number, stock.batches[number].expiry, take))
                    units -= take
    return found
