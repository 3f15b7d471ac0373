"""One handler per command: load, decide, return the result. Saving is the caller's job."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from domain import commands as c
from domain.catalog import Product, Sku
from domain.errors import (
    AlreadyExistsError,
    InvalidCommandError,
    UnknownBatchError,
    UnknownProductError,
)
from domain.hold_handlers import HOLD_HANDLERS, allocate_waiting_preorders
from domain.ids import kit_id, location_directory_id, location_id, product_id, sku_id, stock_id
from domain.kits import Kit
from domain.loading import (
    existing_stock,
    line_answer,
    move_stock,
    reservation_of,
    sku_of,
    stock_answer,
    stock_or_open,
    stock_to_draw_from,
)
from domain.location import Location, LocationDirectory
from domain.order_handlers import ORDER_HANDLERS
from domain.promotions import Promotion
from domain.replenishment_handlers import REPLENISHMENT_HANDLERS
from domain.reservation import Reservation
from domain.results import Result
from domain.stock import Stock
from domain.till_handlers import TILL_HANDLERS
from domain.trace import Trace
from domain.unit_of_work import UnitOfWork, find_as, view_as


def define_product(cmd: c.DefineProduct, uow: UnitOfWork) -> Result:
    if not uow.is_new(product_id(cmd.product_code)):
        raise AlreadyExistsError(
            f"product {cmd.product_code!r} is already defined; change it instead",
            product_code=cmd.product_code,
        )
    product = Product.define(cmd.product_code, cmd.details, cmd.trace)
    uow.add(product)
    for variant in cmd.variants:
        _define_variant(product, variant, cmd.trace, uow)
    return Result({"product_code": cmd.product_code, "skus": product.skus}, created=True)


def change_product(cmd: c.ChangeProduct, uow: UnitOfWork) -> Result:
    product = _product(uow, cmd.product_code)
    product.change(cmd.changes, cmd.trace)
    return Result({"product_code": cmd.product_code, "version": product.version})


def add_variant(cmd: c.AddVariant, uow: UnitOfWork) -> Result:
    product = _product(uow, cmd.product_code)
    _define_variant(product, cmd.variant, cmd.trace, uow)
    return Result({"product_code": cmd.product_code, "sku": cmd.variant.sku}, created=True)


def reprice_sku(cmd: c.RepriceSku, uow: UnitOfWork) -> Result:
    sku = sku_of(uow, cmd.sku, to_change=True)
    sku.reprice(cmd.price, cmd.currency, cmd.trace)
    return Result({"sku": cmd.sku, "price": str(sku.price), "currency": sku.currency})


def discontinue_product(cmd: c.DiscontinueProduct, uow: UnitOfWork) -> Result:
    product = _product(uow, cmd.product_code)
    product.discontinue(cmd.trace)
    for code in product.skus:
        sku_of(uow, code, to_change=True).discontinue(cmd.trace)
    return Result({"product_code": cmd.product_code, "discontinued": True})


def schedule_promotion(cmd: c.SchedulePromotion, uow: UnitOfWork) -> Result:
    product = _product(uow, cmd.product_code)
    promotion = Promotion(
        cmd.promotion_id, cmd.discount_percent, cmd.starts, cmd.ends, tuple(sorted(cmd.channels))
    )
    product.schedule_promotion(promotion, cmd.trace)
    return Result(_promotion_answer(cmd.product_code, promotion), created=True)


def withdraw_promotion(cmd: c.WithdrawPromotion, uow: UnitOfWork) -> Result:
    product = _product(uow, cmd.product_code)
    product.withdraw_promotion(cmd.promotion_id, cmd.trace)
    answer = _promotion_answer(cmd.product_code, product.promotions[cmd.promotion_id])
    return Result({**answer, "withdrawn": True})


def _promotion_answer(product_code: str, p: Promotion) -> dict[str, Any]:
    return {
        "product_code": product_code,
        "promotion_id": p.promotion_id,
        "discount_percent": p.discount_percent,
        "starts": p.starts.isoformat(),
        "ends": p.ends.isoformat(),
        "channels": list(p.channels),
        "withdrawn": False,
    }


def register_location(cmd: c.RegisterLocation, uow: UnitOfWork) -> Result:
    if not uow.is_new(location_id(cmd.code)):
        raise AlreadyExistsError(f"location {cmd.code!r} is already registered", location=cmd.code)
    uow.add(Location.register(cmd.code, cmd.name, cmd.kind, cmd.latitude, cmd.longitude, cmd.trace))
    directory = find_as(uow, location_directory_id(), LocationDirectory)
    if directory is None:
        directory = LocationDirectory.open()
        uow.add(directory)
    directory.list_location(cmd.code)
    return Result({"location": cmd.code, "kind": cmd.kind}, created=True)


def receive_batch(cmd: c.ReceiveBatch, uow: UnitOfWork) -> Result:
    sku_of(uow, cmd.sku).require_not_recalled(cmd.batch, "cannot be received into stock")
    stock = stock_or_open(uow, cmd.sku, cmd.location)
    stock.receive(cmd.batch, cmd.expiry, cmd.quantity, cmd.shipment_ref, cmd.trace)
    allocated = allocate_waiting_preorders(stock, cmd.shipment_ref, cmd.trace, uow)
    answer = stock_answer(stock, cmd.trace)
    return Result({**answer, "preorders_allocated": allocated} if allocated else answer)


def expect_shipment(cmd: c.ExpectShipment, uow: UnitOfWork) -> Result:
    stock = stock_or_open(uow, cmd.sku, cmd.location)
    stock.expect_shipment(cmd.shipment_ref, cmd.quantity, cmd.expected_on, cmd.trace)
    return Result(stock_answer(stock, cmd.trace))


def place_reservation(cmd: c.PlaceReservation, uow: UnitOfWork) -> Result:
    if not uow.is_new(cmd.reservation_id):
        raise AlreadyExistsError(
            f"reservation {cmd.reservation_id} already exists; use a new reservation id",
            reservation_id=str(cmd.reservation_id),
        )
    lines = []
    for line in combine_lines(with_kits(uow, cmd.lines)):
        stock = stock_to_draw_from(uow, line)
        allocations = stock.reserve(cmd.reservation_id, line.quantity, cmd.trace, line.batch)
        lines.append(line_answer(line, allocations))
    reservation = Reservation.place(cmd.reservation_id, lines, cmd.expires_at, cmd.trace)
    uow.add(reservation)
    return Result(reservation.as_dict(), created=True)


def confirm_reservation(cmd: c.ConfirmReservation, uow: UnitOfWork) -> Result:
    reservation = reservation_of(uow, cmd.reservation_id)
    reservation.require_authority(cmd.authority, "confirmed")
    trace = cmd.trace.at(cmd.now).for_customer(reservation.customer_id)
    reservation.confirm(trace)
    sold = []
    for line in reservation.lines:
        stock = existing_stock(uow, line["sku"], line["location"])
        if not stock.holds_reservation(reservation.id):
            continue  # an earlier line on the same shelf sold everything held there
        price = sku_of(uow, line["sku"])
        allocations = stock.sell_reserved(reservation.id, price.price, price.currency, trace)
        sold.append({**line, "allocations": allocations, "unit_price": str(price.price)})
    return Result({**reservation.as_dict(), "sold": sold})


def release_reservation(cmd: c.ReleaseReservation, uow: UnitOfWork) -> Result:
    reservation = reservation_of(uow, cmd.reservation_id)
    reservation.require_authority(cmd.authority, "released")
    reservation.release(cmd.trace)
    for line in reservation.lines:
        existing_stock(uow, line["sku"], line["location"]).release(reservation.id, cmd.trace)
    return Result(reservation.as_dict())


def expire_reservation(cmd: c.ExpireReservation, uow: UnitOfWork) -> Result:
    reservation = reservation_of(uow, cmd.reservation_id)
    trace = cmd.trace.at(cmd.now)
    if reservation.expire(trace):
        for line in reservation.lines:
            stock = existing_stock(uow, line["sku"], line["location"])
            stock.expire(reservation.id, trace)
    return Result(reservation.as_dict())


def sell_direct(cmd: c.SellDirect, uow: UnitOfWork) -> Result:
    sold = []
    for line in combine_lines(with_kits(uow, cmd.lines)):
        stock = stock_to_draw_from(uow, line)
        price = sku_of(uow, line.sku)
        allocations = stock.sell(line.quantity, line.batch, price.price, price.currency, cmd.trace)
        sold.append({**line_answer(line, allocations), "unit_price": str(price.price)})
    return Result({"sale_id": str(cmd.sale_id), "sold": sold})


def accept_return(cmd: c.AcceptReturn, uow: UnitOfWork) -> Result:
    if cmd.restock:
        sku_of(uow, cmd.sku).require_not_recalled(
            cmd.batch, "cannot go back on the shelf; take the return with restock=false"
        )
    stock = stock_or_open(uow, cmd.sku, cmd.location)
    stock.accept_return(
        cmd.batch, cmd.expiry, cmd.quantity, cmd.restock, cmd.trace, back_office=cmd.back_office
    )
    return Result(stock_answer(stock, cmd.trace))


def adjust_stock(cmd: c.AdjustStock, uow: UnitOfWork) -> Result:
    stock = existing_stock(uow, cmd.sku, cmd.location)
    if (cmd.delta is None) == (cmd.counted is None):
        raise InvalidCommandError("give exactly one of 'delta' or 'counted'")
    delta = cmd.delta
    if cmd.counted is not None:
        if cmd.counted < 0:
            raise InvalidCommandError(f"a counted quantity cannot be negative, got {cmd.counted}")
        if cmd.batch not in stock.batches:
            raise UnknownBatchError(
                f"batch {cmd.batch!r} is not held at {cmd.location}", batch=cmd.batch
            )
        delta = cmd.counted - stock.batches[cmd.batch].on_hand
    assert delta is not None
    if cmd.counted is None or delta != 0:  # a count that matches the books changes nothing
        stock.adjust(cmd.batch, delta, cmd.trace)
    return Result(stock_answer(stock, cmd.trace))


def transfer_stock(cmd: c.TransferStock, uow: UnitOfWork) -> Result:
    source, target = move_stock(uow, cmd)
    return Result(
        {
            "transfer_id": str(cmd.transfer_id),
            "from": stock_answer(source, cmd.trace),
            "to": stock_answer(target, cmd.trace),
        },
    )


def quarantine_batch(cmd: c.QuarantineBatch, uow: UnitOfWork) -> Result:
    stock = existing_stock(uow, cmd.sku, cmd.location)
    stock.quarantine(cmd.batch, cmd.trace)
    return Result(stock_answer(stock, cmd.trace))


def lift_quarantine(cmd: c.LiftQuarantine, uow: UnitOfWork) -> Result:
    stock = existing_stock(uow, cmd.sku, cmd.location)
    stock.lift_quarantine(cmd.batch, cmd.trace)
    return Result(stock_answer(stock, cmd.trace))


def recall_batch(cmd: c.RecallBatch, uow: UnitOfWork) -> Result:
    """Recorded on the SKU even where no location holds the batch yet, so that it can never be
    received or restocked later; every location that holds it marks it recalled now."""
    sku_of(uow, cmd.sku, to_change=True).recall_batch(cmd.batch, cmd.trace)
    directory = view_as(uow, location_directory_id(), LocationDirectory)
    recalled_at = []
    for code in directory.codes if directory else []:
        stock = find_as(uow, stock_id(cmd.sku, code), Stock)
        if stock is not None and stock.recall(cmd.batch, cmd.trace):
            recalled_at.append(code)
    return Result({"sku": cmd.sku, "batch": cmd.batch, "recalled_at": recalled_at})


HANDLERS: dict[type[Any], Callable[[Any, UnitOfWork], Result]] = {
    c.DefineProduct: define_product,
    c.ChangeProduct: change_product,
    c.AddVariant: add_variant,
    c.RepriceSku: reprice_sku,
    c.DiscontinueProduct: discontinue_product,
    c.SchedulePromotion: schedule_promotion,
    c.WithdrawPromotion: withdraw_promotion,
    c.RegisterLocation: register_location,
    c.ReceiveBatch: receive_batch,
    c.ExpectShipment: expect_shipment,
    c.PlaceReservation: place_reservation,
    c.ConfirmReservation: confirm_reservation,
    c.ReleaseReservation: release_reservation,
    c.ExpireReservation: expire_reservation,
    c.SellDirect: sell_direct,
    c.AcceptReturn: accept_return,
    c.AdjustStock: adjust_stock,
    c.TransferStock: transfer_stock,
    c.QuarantineBatch: quarantine_batch,
    c.LiftQuarantine: lift_quarantine,
    c.RecallBatch: recall_batch,
    **HOLD_HANDLERS,
}


HANDLERS.update(ORDER_HANDLERS)
HANDLERS.update(REPLENISHMENT_HANDLERS)


def handle(command: c.Command, uow: UnitOfWork) -> Result:
    return HANDLERS[type(command)](command, uow)


def combine_lines(lines: Iterable[c.StockLine]) -> list[c.StockLine]:
    """Lines for the same SKU, location (and batch) are summed before any stock check,
    so a bundle cannot oversell an item it shares with another line."""
    totals: dict[tuple[str, str, str | None], int] = {}
    for line in lines:
        if line.quantity <= 0:
            raise InvalidCommandError(
                f"quantity must be a positive whole number, got {line.quantity} for {line.sku}"
            )
        key = (line.sku, line.location, line.batch)
        totals[key] = totals.get(key, 0) + line.quantity
    combined = [c.StockLine(sku, loc, qty, batch) for (sku, loc, batch), qty in totals.items()]
    # Named batches first: a first-expired-first-out line must not take what another line named.
    return sorted(combined, key=lambda line: line.batch is None)


def with_kits(uow: UnitOfWork, lines: Iterable[c.StockLine]) -> list[c.StockLine]:
    """A kit's line becomes a line per component at the same location, so that reserving or
    selling a kit takes every component or none (first-expired-first-out per component). A
    kit holds no stock of its own: only a line whose SKU has none there is looked up as one."""
    expanded = []
    for line in lines:
        kit = None
        if line.batch is None and view_as(uow, stock_id(line.sku, line.location), Stock) is None:
            kit = view_as(uow, kit_id(line.sku), Kit)
        if kit is None:
            expanded.append(line)
            continue
        for sku, per in kit.parts():
            expanded.append(c.StockLine(sku, line.location, line.quantity * per))
    return expanded


# --- catalog helpers (loading an aggregate by its key: domain/loading.py) ---------------


def _define_variant(product: Product, spec: c.VariantSpec, trace: Trace, uow: UnitOfWork) -> None:
    if not uow.is_new(sku_id(spec.sku)):
        raise AlreadyExistsError(f"SKU {spec.sku!r} is already defined", sku=spec.sku)
    uow.add(
        Sku.define(
            spec.sku, product.product_code, spec.attributes, spec.price, spec.currency, trace
        )
    )
    product.add_variant(spec.sku)


def _product(uow: UnitOfWork, code: str) -> Product:
    product = find_as(uow, product_id(code), Product)
    if product is None:
        raise UnknownProductError(f"no product with code {code!r}", product_code=code)
    return product


HANDLERS.update(TILL_HANDLERS)
