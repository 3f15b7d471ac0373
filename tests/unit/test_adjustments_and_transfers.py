from uuid import uuid4

import pytest
from shop import (
    LATER,
    LATEST,
    NOW,
    RED,
    SOON,
    STORE,
    WAREHOUSE,
    counts,
    line,
    open_shop,
    receive,
    reserve,
    stock,
    trace,
)

from domain import commands as c
from domain.errors import (
    BatchMismatchError,
    InsufficientStockError,
    InvalidCommandError,
    UnknownBatchError,
    UnknownLocationError,
)


def adjust(delta=None, counted=None, batch="B1"):
    return c.AdjustStock(RED, WAREHOUSE, batch, delta, counted, trace(reason="cycle count"))


def transfer(quantity, to=STORE, source=WAREHOUSE):
    return c.TransferStock(uuid4(), RED, source, to, quantity, trace())


def test_an_adjustment_by_delta_changes_the_batch_on_hand():
    uow = open_shop()
    uow.run(receive(quantity=10))
    uow.run(adjust(delta=-3))
    assert counts(uow) == {"B1": (7, 0)}
    assert uow.event_types() == ["Stock.Adjusted"]
    assert uow.last_events[0].delta == -3


def test_an_adjustment_by_counted_quantity_records_the_difference():
    uow = open_shop()
    uow.run(receive(quantity=10))
    uow.run(adjust(counted=12))
    assert counts(uow) == {"B1": (12, 0)}
    assert uow.last_events[0].delta == 2


def test_a_count_that_matches_the_books_changes_nothing():
    uow = open_shop()
    uow.run(receive(quantity=10))
    answer = uow.run(adjust(counted=10))
    assert not answer.created
    assert uow.last_events == []
    assert counts(uow) == {"B1": (10, 0)}


def test_an_adjustment_by_zero_delta_is_refused():
    uow = open_shop()
    uow.run(receive(quantity=10))
    with pytest.raises(InvalidCommandError):
        uow.run(adjust(delta=0))


def test_an_adjustment_needs_exactly_one_of_delta_or_counted():
    uow = open_shop()
    uow.run(receive(quantity=10))
    with pytest.raises(InvalidCommandError):
        uow.run(adjust(delta=1, counted=11))
    with pytest.raises(InvalidCommandError):
        uow.run(adjust())


def test_an_adjustment_never_leaves_less_on_hand_than_is_reserved():
    uow = open_shop()
    uow.run(receive(quantity=10))
    uow.run(reserve(line(6)))
    with pytest.raises(InsufficientStockError) as refused:
        uow.run(adjust(delta=-5))
    assert refused.value.details["reserved"] == 6
    with pytest.raises(InsufficientStockError):
        uow.run(adjust(counted=5))
    uow.run(adjust(counted=6))
    assert counts(uow) == {"B1": (6, 6)}


def test_a_count_below_zero_is_refused():
    uow = open_shop()
    uow.run(receive(quantity=10))
    with pytest.raises(InvalidCommandError):
        uow.run(adjust(counted=-1))
    assert counts(uow) == {"B1": (10, 0)}


def test_an_adjustment_of_an_unknown_batch_is_not_found():
    uow = open_shop()
    uow.run(receive(quantity=10))
    with pytest.raises(UnknownBatchError):
        uow.run(adjust(delta=1, batch="NOPE"))
    with pytest.raises(UnknownBatchError):
        uow.run(adjust(counted=1, batch="NOPE"))


def test_a_transfer_moves_batches_with_their_expiry_first_expired_first():
    uow = open_shop()
    uow.run(receive(batch="LATE", expiry=LATEST, quantity=5))
    uow.run(receive(batch="EARLY", expiry=SOON, quantity=3))
    uow.run(transfer(4))
    assert counts(uow) == {"LATE": (4, 0), "EARLY": (0, 0)}
    assert counts(uow, where=STORE) == {"EARLY": (3, 0), "LATE": (1, 0)}
    assert stock(uow, where=STORE).batches["EARLY"].expiry == SOON
    assert stock(uow, where=STORE).batches["LATE"].expiry == LATEST
    assert uow.event_types() == ["Stock.TransferredOut", "Stock.Opened", "Stock.TransferredIn"]


def test_a_transfer_only_moves_unreserved_sellable_units():
    uow = open_shop()
    uow.run(receive(quantity=5))
    uow.run(reserve(line(3)))
    with pytest.raises(InsufficientStockError) as refused:
        uow.run(transfer(3))
    assert refused.value.details["available"] == 2
    assert counts(uow) == {"B1": (5, 3)}
    assert (RED, STORE) not in {(s.sku, s.location) for s in _stocks(uow)}


def test_a_transfer_into_a_batch_with_another_expiry_is_refused_on_both_sides():
    uow = open_shop()
    uow.run(receive(quantity=5, expiry=LATER))
    uow.run(receive(quantity=5, expiry=SOON, where=STORE))
    with pytest.raises(BatchMismatchError):
        uow.run(transfer(2))
    assert counts(uow) == {"B1": (5, 0)}
    assert counts(uow, where=STORE) == {"B1": (5, 0)}


def test_a_transfer_to_the_same_location_is_refused():
    uow = open_shop()
    uow.run(receive(quantity=5))
    with pytest.raises(InvalidCommandError):
        uow.run(transfer(1, to=WAREHOUSE))


def test_a_transfer_to_an_unknown_location_is_not_found():
    uow = open_shop()
    uow.run(receive(quantity=5))
    with pytest.raises(UnknownLocationError):
        uow.run(transfer(1, to="MOON"))
    assert counts(uow) == {"B1": (5, 0)}


def _stocks(uow):
    from domain.stock import Stock

    return [a for a in uow.aggregates.values() if isinstance(a, Stock)]


def test_transferred_stock_can_be_reserved_at_its_new_location():
    uow = open_shop()
    uow.run(receive(quantity=5))
    uow.run(transfer(2))
    uow.run(reserve(line(2, where=STORE), at=NOW))
    assert counts(uow, where=STORE) == {"B1": (2, 2)}
