"""Loading the aggregates a handler acts on by their natural keys, or refusing with the domain
error that names what is unknown."""

from __future__ import annotations

from domain.catalog import Sku
from domain.errors import UnknownBatchError, UnknownLocationError, UnknownSkuError
from domain.ids import location_id, sku_id, stock_id
from domain.location import Location
from domain.stock import Stock
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


def existing_stock(uow: UnitOfWork, sku: str, location: str) -> Stock:
    stock = _stock(uow, sku, location)
    if stock is None:
        raise UnknownBatchError(
            f"no stock of {sku} has ever been held at {location}", sku=sku, location=location
        )
    return stock


def stock_or_open(uow: UnitOfWork, sku: str, location: str) -> Stock:
    stock = _stock(uow, sku, location)
    if stock is None:
        stock = Stock.open(sku, location)
        uow.add(stock)
    return stock


def _stock(uow: UnitOfWork, sku: str, location: str) -> Stock | None:
    """The stock to change, once both its SKU and its location are known."""
    sku_of(uow, sku)
    location_of(uow, location)
    return find_as(uow, stock_id(sku, location), Stock)
