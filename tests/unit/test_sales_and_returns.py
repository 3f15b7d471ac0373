from decimal import Decimal

import pytest
from shop import (
    LATER,
    LATEST,
    NUDE,
    RED,
    SOON,
    WAREHOUSE,
    YESTERDAY,
    counts,
    line,
    open_shop,
    receive,
    reserve,
    sell,
    stock,
    trace,
)

from domain import commands as c
from domain.errors import (
    BatchMismatchError,
    BatchNotSellableError,
    InsufficientStockError,
    UnknownBatchError,
)

UNLINKED = trace(reason="found-in-store")  # the back office takes returns no sale covers


def test_a_direct_sale_takes_the_batch_that_expires_first():
    uow = open_shop()
    uow.run(receive(batch="LATE", expiry=LATEST, quantity=5))
    uow.run(receive(batch="EARLY", expiry=SOON, quantity=3))
    answer = uow.run(sell(line(4)))
    assert counts(uow) == {"LATE": (4, 0), "EARLY": (0, 0)}
    assert uow.event_types() == ["Stock.Sold"]
    sold = uow.last_events[0]
    assert (sold.allocations, sold.reservation_id, sold.unit_price) == (
        {"EARLY": 3, "LATE": 1},
        None,
        Decimal("12.50"),
    )
    assert answer.body["sold"][0]["unit_price"] == "12.50"


def test_a_direct_sale_never_takes_reserved_units():
    uow = open_shop()
    uow.run(receive(quantity=3))
    uow.run(reserve(line(2)))
    with pytest.raises(InsufficientStockError) as refused:
        uow.run(sell(line(2)))
    assert refused.value.details["available"] == 1
    assert counts(uow) == {"B1": (3, 2)}


def test_a_direct_sale_from_a_named_batch_takes_only_that_batch():
    uow = open_shop()
    uow.run(receive(batch="EARLY", expiry=SOON, quantity=3))
    uow.run(receive(batch="LATE", expiry=LATEST, quantity=5))
    uow.run(sell(line(2, batch="LATE")))
    assert counts(uow) == {"EARLY": (3, 0), "LATE": (3, 0)}


def test_a_direct_sale_of_an_expired_batch_is_refused():
    uow = open_shop()
    uow.run(receive(batch="OLD", expiry=YESTERDAY))
    with pytest.raises(BatchNotSellableError, match="expired"):
        uow.run(sell(line(1, batch="OLD")))
    assert counts(uow) == {"OLD": (10, 0)}


def test_a_direct_sale_of_a_quarantined_batch_is_refused():
    uow = open_shop()
    uow.run(receive())
    uow.run(c.QuarantineBatch(RED, WAREHOUSE, "B1", trace()))
    with pytest.raises(BatchNotSellableError, match="quarantined"):
        uow.run(sell(line(1, batch="B1")))
    with pytest.raises(InsufficientStockError):
        uow.run(sell(line(1)))
    assert counts(uow) == {"B1": (10, 0)}


def test_a_direct_sale_beyond_stock_is_refused_and_sells_nothing_on_any_line():
    uow = open_shop()
    uow.run(receive(quantity=5))
    uow.run(receive(sku=NUDE, quantity=1))
    with pytest.raises(InsufficientStockError) as refused:
        uow.run(sell(line(1), line(1, sku=NUDE), line(1, sku=NUDE)))
    assert refused.value.details == {
        "sku": NUDE,
        "location": WAREHOUSE,
        "requested": 2,
        "available": 1,
    }
    assert counts(uow) == {"B1": (5, 0)}
    assert counts(uow, NUDE) == {"B1": (1, 0)}


def test_a_restocked_return_goes_back_on_hand_in_its_batch():
    uow = open_shop()
    uow.run(receive(quantity=5))
    uow.run(sell(line(2)))
    uow.run(c.AcceptReturn(RED, WAREHOUSE, "B1", None, 1, True, trace()))
    assert counts(uow) == {"B1": (4, 0)}
    assert uow.event_types() == ["Stock.Returned"]
    assert uow.last_events[0].restocked is True
    assert stock(uow).counters["restocked"] == 1


def test_a_damaged_return_is_recorded_but_not_put_back_on_hand():
    uow = open_shop()
    uow.run(receive(quantity=5))
    uow.run(sell(line(2)))
    uow.run(c.AcceptReturn(RED, WAREHOUSE, "B1", None, 1, False, trace()))
    assert counts(uow) == {"B1": (3, 0)}
    assert uow.last_events[0].restocked is False
    assert stock(uow).counters["returned_damaged"] == 1


def test_a_return_of_a_batch_never_held_here_needs_its_expiry():
    uow = open_shop()
    with pytest.raises(UnknownBatchError, match="expiry"):
        uow.run(c.AcceptReturn(RED, WAREHOUSE, "ELSEWHERE", None, 1, True, UNLINKED, True))
    uow.run(c.AcceptReturn(RED, WAREHOUSE, "ELSEWHERE", LATER, 1, True, UNLINKED, True))
    assert counts(uow) == {"ELSEWHERE": (1, 0)}
    assert stock(uow).batches["ELSEWHERE"].expiry == LATER


def test_a_return_with_the_wrong_expiry_for_a_known_batch_is_refused():
    uow = open_shop()
    uow.run(receive(expiry=LATER))
    with pytest.raises(BatchMismatchError):
        uow.run(c.AcceptReturn(RED, WAREHOUSE, "B1", SOON, 1, True, UNLINKED, True))
    assert counts(uow) == {"B1": (10, 0)}


def test_a_sale_naming_a_batch_is_served_before_its_first_expired_lines():
    uow = open_shop()
    uow.run(receive(batch="EARLY", expiry=SOON, quantity=3))
    uow.run(receive(batch="LATE", expiry=LATEST, quantity=5))
    uow.run(sell(line(1), line(3, batch="EARLY")))
    assert counts(uow) == {"EARLY": (0, 0), "LATE": (4, 0)}
