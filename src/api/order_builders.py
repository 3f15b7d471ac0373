"""From a validated order, channel-rule or kit body to a domain command."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import uuid4

from api import order_models as m
from api.command_builders import Context
from api.problems import ApiProblem
from domain import order_commands as o
from domain.channel_rules import CHANNELS
from domain.commands import Command
from domain.sourcing import Delivery, PickUpAt, ShipTo


def delivery(body: m.ShipToIn | m.PickUpAtIn) -> Delivery:
    if isinstance(body, m.PickUpAtIn):
        return PickUpAt(body.store)
    return ShipTo(body.latitude, body.longitude)


def ordered(lines: Iterable[m.OrderLineIn]) -> tuple[o.OrderedItem, ...]:
    return tuple(o.OrderedItem(line.sku, line.quantity) for line in lines)


def place_order(b: m.PlaceOrderIn, ctx: Context) -> Command:
    order_id = b.order_id or uuid4()
    return o.PlaceOrder(order_id, ordered(b.lines), delivery(b.delivery), ctx.trace)


def progress(b: m.FulfilmentStepIn, ctx: Context) -> Command:
    return o.ProgressFulfilment(
        ctx.path["order_id"], ctx.path["fulfilment_id"], b.step, ctx.trace, ctx.authority
    )


def cancel(b: m.OrderActionIn, ctx: Context) -> Command:
    return o.CancelOrder(ctx.path["order_id"], ctx.trace, ctx.authority)


def cancel_lines(b: m.CancelLinesIn, ctx: Context) -> Command:
    return o.CancelOrderLines(ctx.path["order_id"], dict(b.lines), ctx.trace, ctx.authority)


def edit_lines(b: m.EditLinesIn, ctx: Context) -> Command:
    return o.EditOrderLines(
        ctx.path["order_id"],
        ordered(b.add),
        tuple(b.remove),
        dict(b.change),
        ctx.trace,
        ctx.authority,
    )


def payment(b: m.PaymentIn, ctx: Context) -> Command:
    return o.ReportPayment(ctx.path["order_id"], b.outcome, b.amount, ctx.trace, ctx.authority)


def request_return(b: m.ReturnRequestIn, ctx: Context) -> Command:
    return o.RequestReturn(ctx.path["order_id"], dict(b.lines), ctx.trace, ctx.authority)


def receive_return(b: m.ReturnReceiptIn, ctx: Context) -> Command:
    return o.ReceiveReturn(
        ctx.path["order_id"],
        ctx.path["rma_id"],
        b.location,
        dict(b.restocked),
        dict(b.damaged),
        ctx.trace,
        ctx.authority,
    )


def refund(b: m.RefundIn, ctx: Context) -> Command:
    return o.RefundReturn(
        ctx.path["order_id"], ctx.path["rma_id"], b.amount, ctx.trace, ctx.authority
    )


def channel_rules(b: m.ChannelRulesIn, ctx: Context) -> Command:
    sourcing = None
    if b.sourcing is not None:
        s = b.sourcing
        sourcing = o.SourcingRules(
            s.strategy, tuple(s.priority), s.ship_from_store, s.split_allowed
        )
    return o.ChangeChannelRules(
        known_channel(ctx.path["channel"]),
        ctx.trace,
        sell_from=None if b.sell_from is None else tuple(b.sell_from),
        sell_from_everywhere=b.sell_from_everywhere,
        safety_buffers=dict(b.safety_buffers),
        ring_fenced_pools=dict(b.ring_fenced_pools),
        min_shelf_life_days=b.min_shelf_life_days,
        sourcing=sourcing,
    )


def define_kit(b: m.KitIn, ctx: Context) -> Command:
    return o.DefineKit(b.sku, dict(b.components), ctx.trace)


def known_channel(name: str) -> str:
    if name not in CHANNELS:
        raise ApiProblem(
            404,
            "unknown-channel",
            "Unknown channel",
            f"no channel {name!r}: expected one of {', '.join(CHANNELS)}",
        )
    return name
