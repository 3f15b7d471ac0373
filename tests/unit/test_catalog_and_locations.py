from decimal import Decimal
from uuid import uuid4

import pytest
from memory_uow import MemoryUnitOfWork
from shop import RED, WAREHOUSE, line, lipstick, location, open_shop, receive, sell, trace

from domain import commands as c
from domain.catalog import Product, Sku
from domain.errors import (
    AlreadyExistsError,
    ProductDiscontinuedError,
    UnknownLocationError,
    UnknownProductError,
    UnknownSkuError,
)
from domain.ids import location_directory_id, product_id, sku_id
from domain.location import LocationDirectory


def test_defining_a_product_defines_its_variants():
    uow = MemoryUnitOfWork()
    answer = uow.run(lipstick())
    assert answer.created
    product = uow.get(product_id("LIP"))
    assert isinstance(product, Product)
    assert product.skus == ["LIP-RED", "LIP-NUDE"]
    assert uow.get(sku_id(RED)).price == Decimal("12.50")
    assert uow.event_types() == [
        "Product.Defined",
        "Product.VariantAdded",
        "Product.VariantAdded",
        "Sku.Defined",
        "Sku.Defined",
    ]


def test_defining_a_product_twice_is_refused():
    uow = open_shop()
    with pytest.raises(AlreadyExistsError):
        uow.run(lipstick())


def test_defining_a_sku_that_exists_under_another_product_is_refused_and_adds_nothing():
    uow = open_shop()
    with pytest.raises(AlreadyExistsError):
        uow.run(lipstick(code="GLOSS", skus=("GLOSS-PINK", RED)))
    assert product_id("GLOSS") not in uow.aggregates
    assert sku_id("GLOSS-PINK") not in uow.aggregates


def test_adding_a_variant_that_exists_is_refused():
    uow = open_shop()
    spec = c.VariantSpec(RED, {}, Decimal("1"), "EUR")
    with pytest.raises(AlreadyExistsError):
        uow.run(c.AddVariant("LIP", spec, trace()))


def test_registering_a_location_twice_is_refused():
    uow = open_shop()
    with pytest.raises(AlreadyExistsError):
        uow.run(location(WAREHOUSE))


def test_registering_locations_lists_them_in_the_directory():
    uow = open_shop()
    directory = uow.get(location_directory_id())
    assert isinstance(directory, LocationDirectory)
    assert directory.codes == [WAREHOUSE, "ST1"]


def test_changing_an_unknown_product_is_not_found():
    uow = open_shop()
    with pytest.raises(UnknownProductError):
        uow.run(c.ChangeProduct("NOPE", {"name": "x"}, trace()))
    with pytest.raises(UnknownProductError):
        uow.run(c.DiscontinueProduct("NOPE", trace()))


def test_repricing_an_unknown_sku_is_not_found():
    uow = open_shop()
    with pytest.raises(UnknownSkuError):
        uow.run(c.RepriceSku("NOPE", Decimal("1"), "EUR", trace()))


def test_receiving_an_unknown_sku_is_not_found():
    uow = open_shop()
    with pytest.raises(UnknownSkuError):
        uow.run(receive(sku="NOPE"))


def test_receiving_at_an_unknown_location_is_not_found():
    uow = open_shop()
    with pytest.raises(UnknownLocationError):
        uow.run(receive(where="MOON"))


def test_selling_at_an_unknown_location_is_not_found():
    uow = open_shop()
    with pytest.raises(UnknownLocationError):
        uow.run(sell(line(1, where="MOON")))


def test_reserving_an_unknown_sku_is_not_found():
    uow = open_shop()
    with pytest.raises(UnknownSkuError):
        uow.run(c.PlaceReservation(uuid4(), (line(1, sku="NOPE"),), trace().occurred_at, trace()))


def test_repricing_records_the_new_price():
    uow = open_shop()
    uow.run(c.RepriceSku(RED, Decimal("14.00"), "EUR", trace()))
    assert isinstance(uow.get(sku_id(RED)), Sku)
    assert uow.get(sku_id(RED)).price == Decimal("14.00")
    assert uow.event_types() == ["Sku.Repriced"]


def test_a_discontinued_product_discontinues_its_skus_and_refuses_changes():
    uow = open_shop()
    uow.run(c.DiscontinueProduct("LIP", trace()))
    assert uow.get(sku_id(RED)).discontinued is True
    assert uow.event_types() == ["Product.Discontinued", "Sku.Discontinued", "Sku.Discontinued"]
    with pytest.raises(ProductDiscontinuedError):
        uow.run(c.ChangeProduct("LIP", {"name": "New"}, trace()))
