"""From a validated request body to a hold, transit or pre-order command."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

from api import hold_models as h
from api import models as m
from api.command_builders import Context
from api.order_builders import delivery
from domain import commands as c


def extend_reservation(b: h.ExtendReservationIn, ctx: Context) -> c.Command:
    return c.ExtendReservation(
        ctx.path["reservation_id"],
        timedelta(seconds=b.extend_by_seconds),
        ctx.now,
        ctx.trace,
        ctx.authority,
    )


def reservation_to_order(b: h.ReservationToOrderIn, ctx: Context) -> c.Command:
    return c.ConvertReservationToOrder(
        ctx.path["reservation_id"],
        b.order_id or uuid4(),
        delivery(b.delivery),
        ctx.now,
        ctx.trace,
        ctx.authority,
    )


def dispatch_transfer(b: m.TransferIn, ctx: Context) -> c.Command:
    return c.TransferStock(
        b.transfer_id or uuid4(),
        b.sku,
        b.from_location,
        b.to_location,
        b.quantity,
        ctx.trace,
        in_transit=True,
    )


def receive_transfer(b: h.TransferReceiptIn, ctx: Context) -> c.Command:
    arrived = None if b.batches is None else dict(b.batches)
    return c.ReceiveTransfer(ctx.path["transfer_id"], b.sku, b.location, arrived, ctx.trace)


def switch_preorders(b: h.PreorderSwitchIn, ctx: Context) -> c.Command:
    return c.SwitchPreorders(ctx.path["sku"], b.channel, b.allowed, ctx.trace)


def place_preorder(b: h.PreorderIn, ctx: Context) -> c.Command:
    return c.PlacePreorder(
        b.preorder_id or uuid4(), b.sku, b.location, b.shipment_ref, b.quantity, ctx.trace
    )


def confirm_preorder(b: h.PreorderActionIn, ctx: Context) -> c.Command:
    return c.ConfirmPreorder(ctx.path["preorder_id"], ctx.trace, ctx.authority)


def release_preorder(b: h.PreorderActionIn, ctx: Context) -> c.Command:
    return c.ReleasePreorder(ctx.path["preorder_id"], ctx.trace, ctx.authority)


def delay_shipment(b: h.ShipmentDelayIn, ctx: Context) -> c.Command:
    return c.DelayShipment(b.sku, b.location, b.shipment_ref, b.expected_on, ctx.trace)


def cancel_shipment(b: h.ShipmentCancelIn, ctx: Context) -> c.Command:
    return c.CancelShipment(b.sku, b.location, b.shipment_ref, ctx.trace)
