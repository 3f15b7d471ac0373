"""Transfers in transit: sent units are on their way (visible, not sellable) until received;
a partial receipt records the shortfall."""

from uuid import uuid4

import pytest
from shop import LATER, SOON, STORE, WAREHOUSE, line, open_shop, receive, reserve, stock, trace

from domain import commands as c
from domain.errors import InsufficientStockError, InvalidCommandError, UnknownTransferError


def dispatch(quantity, transfer_id=None):
    return c.TransferStock(
        transfer_id or uuid4(), "LIP-RED", WAREHOUSE, STORE, quantity, trace(), in_transit=True
    )


def arrive(transfer_id, arrived=None):
    return c.ReceiveTransfer(transfer_id, "LIP-RED", STORE, arrived, trace())


def shop_with_stock():
    uow = open_shop()
    uow.run(receive(batch="EARLY", expiry=SOON, quantity=4))
    uow.run(receive(batch="LATE", expiry=LATER, quantity=6))
    return uow


def test_sent_units_are_in_transit_visible_and_not_sellable():
    uow = shop_with_stock()
    sent = dispatch(5)
    uow.run(sent)
    assert uow.event_types() == ["Stock.TransferredOut", "Stock.Opened", "Stock.TransferDispatched"]
    at_store = stock(uow, where=STORE).summary(SOON)
    assert (at_store["on_hand"], at_store["available"], at_store["in_transit"]) == (0, 0, 5)
    assert stock(uow).summary(SOON)["on_hand"] == 5
    with pytest.raises(InsufficientStockError):
        uow.run(reserve(line(1, where=STORE)))


def test_receiving_settles_every_unit_at_the_destination_batches_kept():
    uow = shop_with_stock()
    sent = dispatch(5)
    uow.run(sent)
    answer = uow.run(arrive(sent.transfer_id))
    assert answer.body["shortfall"] == {} and answer.body["in_transit"] == 0
    at_store = stock(uow, where=STORE)
    assert {n: (b.expiry, b.on_hand) for n, b in at_store.batches.items()} == {
        "EARLY": (SOON, 4),
        "LATE": (LATER, 1),
    }
    uow.run(reserve(line(5, where=STORE)))


def test_a_partial_receipt_records_the_shortfall():
    uow = shop_with_stock()
    sent = dispatch(5)
    uow.run(sent)
    answer = uow.run(arrive(sent.transfer_id, {"EARLY": 3, "LATE": 1}))
    assert answer.body["shortfall"] == {"EARLY": 1}
    (received,) = uow.last_events
    assert received.shortfall == {"EARLY": 1}
    assert stock(uow, where=STORE).summary(SOON)["on_hand"] == 4


def test_a_transfer_is_received_once_and_only_what_was_sent():
    uow = shop_with_stock()
    sent = dispatch(5)
    uow.run(sent)
    with pytest.raises(InvalidCommandError, match="cannot have arrived"):
        uow.run(arrive(sent.transfer_id, {"EARLY": 5}))
    with pytest.raises(InvalidCommandError, match="was not sent"):
        uow.run(arrive(sent.transfer_id, {"OTHER": 1}))
    with pytest.raises(UnknownTransferError):
        uow.run(arrive(uuid4()))
    uow.run(arrive(sent.transfer_id))
    with pytest.raises(UnknownTransferError):
        uow.run(arrive(sent.transfer_id))
