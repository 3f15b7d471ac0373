"""From a validated request body to a domain command: one small builder per route."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

from api import models as m
from domain import commands as c
from domain.trace import Trace


@dataclass(frozen=True)
class Context:
    trace: Trace
    now: datetime
    path: dict[str, Any]
    reservation_ttl_seconds: int
    authority: c.Authority  # whose reservations the caller may act on
    back_office: bool  # may take a return no sale covers, with a reason


def _variant(v: m.VariantIn) -> c.VariantSpec:
    attributes = {
        k: val
        for k, val in (
            ("shade", v.shade),
            ("size", v.size),
            ("scent", v.scent),
            ("formula", v.formula),
        )
        if val is not None
    }
    return c.VariantSpec(v.sku, attributes, v.price, v.currency)


def define_product(b: m.DefineProductIn, ctx: Context) -> c.Command:
    details = b.model_dump(
        mode="json", include={"name", "brand", "category", "inci", "skin_types", "description"}
    )
    variants = tuple(_variant(v) for v in b.variants)
    return c.DefineProduct(b.product_code, details, variants, ctx.trace)


def change_product(b: m.ChangeProductIn, ctx: Context) -> c.Command:
    changes = b.model_dump(
        mode="json", exclude_none=True, exclude={"source_ref", "reason", "occurred_at"}
    )
    return c.ChangeProduct(ctx.path["product_code"], changes, ctx.trace)


def add_variant(b: m.AddVariantIn, ctx: Context) -> c.Command:
    return c.AddVariant(ctx.path["product_code"], _variant(b.variant), ctx.trace)


def reprice(b: m.RepriceIn, ctx: Context) -> c.Command:
    return c.RepriceSku(ctx.path["sku"], b.price, b.currency, ctx.trace)


def discontinue(b: m.DiscontinueIn, ctx: Context) -> c.Command:
    return c.DiscontinueProduct(ctx.path["product_code"], ctx.trace)


def schedule_promotion(b: m.SchedulePromotionIn, ctx: Context) -> c.Command:
    return c.SchedulePromotion(
        ctx.path["product_code"],
        str(b.promotion_id or uuid4()),
        b.discount_percent,
        b.starts,
        b.ends,
        tuple(dict.fromkeys(b.channels)),
        ctx.trace,
    )


def withdraw_promotion(b: m.WithdrawPromotionIn, ctx: Context) -> c.Command:
    return c.WithdrawPromotion(ctx.path["product_code"], str(ctx.path["promotion_id"]), ctx.trace)


def register_location(b: m.RegisterLocationIn, ctx: Context) -> c.Command:
    return c.RegisterLocation(b.code, b.name, b.kind, b.latitude, b.longitude, ctx.trace)


def receive(b: m.ReceiveIn, ctx: Context) -> c.Command:
    return c.ReceiveBatch(
        b.sku, b.location, b.batch, b.expiry, b.quantity, b.shipment_ref, ctx.trace
    )


def expect_shipment(b: m.ExpectShipmentIn, ctx: Context) -> c.Command:
    return c.ExpectShipment(b.sku, b.location, b.shipment_ref, b.quantity, b.expected_on, ctx.trace)


def reserve(b: m.ReserveIn, ctx: Context) -> c.Command:
    ttl = b.ttl_seconds or ctx.reservation_ttl_seconds
    lines = tuple(c.StockLine(line.sku, line.location, line.quantity) for line in b.lines)
    return c.PlaceReservation(
        b.reservation_id or uuid4(), lines, ctx.now + timedelta(seconds=ttl), ctx.trace
    )


def confirm(b: m.ReservationActionIn, ctx: Context) -> c.Command:
    return c.ConfirmReservation(ctx.path["reservation_id"], ctx.now, ctx.trace, ctx.authority)


def release(b: m.ReservationActionIn, ctx: Context) -> c.Command:
    return c.ReleaseReservation(ctx.path["reservation_id"], ctx.trace, ctx.authority)


def sell(b: m.SellIn, ctx: Context) -> c.Command:
    lines = tuple(
        c.StockLine(line.sku, line.location, line.quantity, line.batch) for line in b.lines
    )
    return c.SellDirect(b.sale_id or uuid4(), lines, ctx.trace)


def accept_return(b: m.ReturnIn, ctx: Context) -> c.Command:
    return c.AcceptReturn(
        b.sku, b.location, b.batch, b.expiry, b.quantity, b.restock, ctx.trace, ctx.back_office
    )


def adjust(b: m.AdjustIn, ctx: Context) -> c.Command:
    return c.AdjustStock(b.sku, b.location, b.batch, b.delta, b.counted, ctx.trace)


def transfer(b: m.TransferIn, ctx: Context) -> c.Command:
    return c.TransferStock(
        b.transfer_id or uuid4(), b.sku, b.from_location, b.to_location, b.quantity, ctx.trace
    )


def quarantine(b: m.BatchActionIn, ctx: Context) -> c.Command:
    return c.QuarantineBatch(b.sku, b.location, b.batch, ctx.trace)


def lift_quarantine(b: m.BatchActionIn, ctx: Context) -> c.Command:
    return c.LiftQuarantine(b.sku, b.location, b.batch, ctx.trace)


def recall(b: m.RecallIn, ctx: Context) -> c.Command:
    return c.RecallBatch(b.sku, b.batch, ctx.trace)
