"""Loading what a handler decides on: a SKU, a location, a reservation, a stock (opened if
new, or refused if never held), and the answers every stock command shares. Each lookup
raises the named domain error a channel is told (404, or 409 for stock never held)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain import commands as c
from domain.catalog import Sku
from domain.errors import (
    InsufficientStockError,
    InvalidCommandError,
    UnknownBatchError,
    UnknownLocationError,
    UnknownReservationError,
    UnknownSkuError,
)
from domain.ids import location_id, sku_id, stock_id
from domain.location import Location
from domain.reservation import Reservation
from domain.stock import Stock
from domain.trace import Trace
from domain.unit_of_work import UnitOfWork, find_as, view_as


def sku_of(uow: UnitOfWork, code: str, *, to_change: bool = False) -> Sku:
    sku = (find_as if to_change else view_as)(uow, sku_id(code), Sku)
    if sku is None:
        raise UnknownSkuError(f"no SKU {code!r} in the catalog", sku=code)
    return sku


def location_of(uow: UnitOfWork, code: str) -> Location:
    location = view_as(uow, location_id(code), Location)
    if location is None:
        raise UnknownLocationError(f"no location {code!r} is registered", location=code)
    return location


def reservation_of(uow: UnitOfWork, reservation_id: UUID) -> Reservation:
    reservation = uow.find(reservation_id)  # a client's id may name another kind of aggregate
    if not isinstance(reservation, Reservation):
        raise UnknownReservationError(
            f"no reservation {reservation_id}", reservation_id=str(reservation_id)
        )
    return reservation


def stock_or_open(uow: UnitOfWork, sku: str, location: str) -> Stock:
    stock = _stock_of_known(uow, sku, location)
    if stock is None:
        stock = Stock.open(sku, location)
        uow.add(stock)
    return stock


def existing_stock(uow: UnitOfWork, sku: str, location: str) -> Stock:
    stock = _stock_of_known(uow, sku, location)
    if stock is None:
        raise UnknownBatchError(
            f"no stock of {sku} has ever been held at {location}", sku=sku, location=location
        )
    return stock


def stock_to_draw_from(uow: UnitOfWork, line: c.StockLine) -> Stock:
    stock = _stock_of_known(uow, line.sku, line.location)
    if stock is None:
        raise InsufficientStockError(
            f"only 0 unit(s) of {line.sku} available at {line.location}, {line.quantity} requested",
            sku=line.sku,
            location=line.location,
            requested=line.quantity,
            available=0,
        )
    return stock


def move_stock(uow: UnitOfWork, cmd: c.TransferStock) -> tuple[Stock, Stock]:
    """The units drawn from the source's stock (FEFO) and sent to the target's: arrived at
    once, or in transit until received. Returns both stocks."""
    if cmd.from_location == cmd.to_location:
        raise InvalidCommandError("a transfer needs two different locations")
    source = stock_to_draw_from(uow, c.StockLine(cmd.sku, cmd.from_location, cmd.quantity))
    location_of(uow, cmd.to_location)
    moved = source.transfer_out(cmd.transfer_id, cmd.to_location, cmd.quantity, cmd.trace)
    target = stock_or_open(uow, cmd.sku, cmd.to_location)
    arrive = target.dispatch_in if cmd.in_transit else target.transfer_in
    arrive(cmd.transfer_id, cmd.from_location, moved, cmd.trace)
    return source, target


def line_answer(line: c.StockLine, allocations: dict[str, int]) -> dict[str, Any]:
    return {
        "sku": line.sku,
        "location": line.location,
        "quantity": line.quantity,
        "allocations": allocations,
    }


def stock_answer(stock: Stock, trace: Trace) -> dict[str, Any]:
    return stock.summary(trace.occurred_at.date())


def _stock_of_known(uow: UnitOfWork, sku: str, location: str) -> Stock | None:
    """The stock of a SKU in the catalog at a registered location (404 otherwise), if any."""
    sku_of(uow, sku)
    location_of(uow, location)
    return find_as(uow, stock_id(sku, location), Stock)
