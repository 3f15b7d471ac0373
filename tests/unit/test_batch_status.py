import pytest
from shop import (
    LATER,
    NOW,
    NUDE,
    RED,
    STORE,
    WAREHOUSE,
    counts,
    line,
    location,
    open_shop,
    receive,
    reserve,
    stock,
    trace,
)

from domain import commands as c
from domain.batch import ACTIVE, QUARANTINED, RECALLED
from domain.errors import BatchNotSellableError, UnknownBatchError, UnknownSkuError


def quarantine(batch="B1", where=WAREHOUSE):
    return c.QuarantineBatch(RED, where, batch, trace())


def lift(batch="B1", where=WAREHOUSE):
    return c.LiftQuarantine(RED, where, batch, trace())


def recall(batch="B1", sku=RED):
    return c.RecallBatch(sku, batch, trace())


def test_quarantining_a_batch_takes_it_out_of_what_can_be_sold():
    uow = open_shop()
    uow.run(receive(quantity=5))
    answer = uow.run(quarantine())
    assert stock(uow).batches["B1"].status == QUARANTINED
    assert answer.body["available"] == 0
    assert answer.body["quarantined"] == 5
    assert uow.event_types() == ["Stock.BatchQuarantined"]


def test_lifting_a_quarantine_makes_the_batch_sellable_again():
    uow = open_shop()
    uow.run(receive(quantity=5))
    uow.run(quarantine())
    uow.run(lift())
    assert stock(uow).batches["B1"].status == ACTIVE
    assert uow.event_types() == ["Stock.BatchQuarantineLifted"]
    uow.run(reserve(line(5)))
    assert counts(uow) == {"B1": (5, 5)}


def test_quarantining_twice_or_lifting_an_active_batch_emits_nothing():
    uow = open_shop()
    uow.run(receive(quantity=5))
    uow.run(lift())
    assert uow.last_events == []
    uow.run(quarantine())
    uow.run(quarantine())
    assert uow.last_events == []


def test_a_recalled_batch_can_neither_be_quarantined_nor_lifted():
    uow = open_shop()
    uow.run(receive(quantity=5))
    uow.run(recall())
    with pytest.raises(BatchNotSellableError):
        uow.run(quarantine())
    with pytest.raises(BatchNotSellableError):
        uow.run(lift())
    assert stock(uow).batches["B1"].status == RECALLED


def test_a_recall_marks_the_batch_at_every_location_that_holds_it():
    uow = open_shop()
    uow.run(location("FC1"))
    uow.run(receive(quantity=5))
    uow.run(receive(quantity=2, where=STORE))
    uow.run(receive(batch="OTHER", quantity=2, where="FC1"))
    answer = uow.run(recall())
    assert sorted(answer.body["recalled_at"]) == [STORE, WAREHOUSE]
    assert stock(uow).batches["B1"].status == RECALLED
    assert stock(uow, where=STORE).batches["B1"].status == RECALLED
    assert stock(uow, where="FC1").batches["OTHER"].status == ACTIVE
    assert uow.event_types() == ["Sku.BatchRecalled", "Stock.BatchRecalled", "Stock.BatchRecalled"]


def test_a_recall_reaches_a_batch_even_while_it_is_quarantined_and_reserved():
    uow = open_shop()
    uow.run(receive(quantity=5))
    uow.run(reserve(line(2)))
    uow.run(quarantine())
    uow.run(recall())
    assert stock(uow).batches["B1"].status == RECALLED
    assert counts(uow) == {"B1": (5, 2)}


def test_a_recall_of_a_batch_held_nowhere_is_recorded_so_it_can_never_be_received():
    uow = open_shop()
    uow.run(receive(quantity=5))
    answer = uow.run(recall(batch="NOPE"))
    assert answer.body["recalled_at"] == []
    assert uow.event_types() == ["Sku.BatchRecalled"]
    with pytest.raises(BatchNotSellableError, match="cannot be received"):
        uow.run(receive(batch="NOPE", quantity=5))
    assert uow.last_events == []


def test_a_recalled_batch_received_later_at_another_location_is_refused():
    uow = open_shop()
    uow.run(receive(quantity=5))
    uow.run(recall())
    with pytest.raises(BatchNotSellableError, match="recalled"):
        uow.run(receive(where=STORE, quantity=5))


def test_a_recalled_batch_cannot_be_restocked_from_a_return_but_can_be_written_off():
    uow = open_shop()
    uow.run(receive(quantity=5))
    uow.run(recall())
    with pytest.raises(BatchNotSellableError, match="restock=false"):
        uow.run(c.AcceptReturn(RED, STORE, "B1", LATER, 1, True, trace(reason="recall"), True))
    uow.run(c.AcceptReturn(RED, STORE, "B1", LATER, 1, False, trace(reason="recall"), True))
    assert uow.event_types() == ["Stock.Opened", "Stock.Returned"]


def test_recalling_the_same_batch_twice_is_refused():
    uow = open_shop()
    uow.run(receive(quantity=5))
    uow.run(recall())
    with pytest.raises(BatchNotSellableError, match="already recalled"):
        uow.run(recall())


def test_a_recall_of_the_same_batch_of_another_sku_leaves_this_one_alone():
    uow = open_shop()
    uow.run(receive(quantity=5))
    uow.run(receive(sku=NUDE, quantity=5))
    uow.run(recall(sku=NUDE))
    assert stock(uow).batches["B1"].status == ACTIVE
    assert stock(uow, NUDE).batches["B1"].status == RECALLED


def test_a_recall_of_an_unknown_sku_is_not_found():
    uow = open_shop()
    with pytest.raises(UnknownSkuError):
        uow.run(recall(sku="NOPE"))


def test_quarantining_an_unknown_batch_is_not_found():
    uow = open_shop()
    uow.run(receive(quantity=5))
    with pytest.raises(UnknownBatchError):
        uow.run(quarantine(batch="NOPE"))


def test_reservation_placed_before_a_recall_cannot_be_confirmed_without_other_stock():
    from shop import confirm

    uow = open_shop()
    uow.run(receive(quantity=5))
    command = reserve(line(2))
    uow.run(command)
    uow.run(recall())
    with pytest.raises(BatchNotSellableError):
        uow.run(confirm(command.reservation_id, now=NOW))
